package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Every number of kills up to f is measured, the leader first, plus f
// backups, f silent and each Byzantine behaviour asked for.
func TestFaultScenariosCoverEveryCountUpToF(t *testing.T) {
	var names []string
	for _, sc := range scenariosFor(7, []string{"equivocate"}) {
		names = append(names, sc.name)
	}
	require.Equal(t, []string{"none", "kill-leader", "kill-2", "kill-2-backups", "silent-2", "byz-equivocate"}, names)
}

func TestBenchFaultsRefusesBadFlags(t *testing.T) {
	ok := faultsFlags{nodes: "4,7", rate: 5000, warmup: 1, measure: 1, kills: 5}
	_, err := ok.check()
	require.NoError(t, err)
	for name, mutate := range map[string]func(*faultsFlags){
		"too few nodes":    func(f *faultsFlags) { f.nodes = "3" },
		"not a number":     func(f *faultsFlags) { f.nodes = "four" },
		"no rate":          func(f *faultsFlags) { f.rate = 0 },
		"too many kills":   func(f *faultsFlags) { f.kills = 21 },
		"negative timeout": func(f *faultsFlags) { f.viewTimeout = -1 },
	} {
		f := ok
		mutate(&f)
		_, err := f.check()
		require.Error(t, err, name)
	}
}
