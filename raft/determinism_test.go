package raft

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	etcdraft "go.etcd.io/raft/v3"
)

const etcdRaftModule = "go.etcd.io/raft/v3"

// TestEtcdRaftIsThePinnedVersion fails when the etcd raft linked in (and
// required by go.mod) is not the version determinism.go reaches into and
// validate.go was derived from.
func TestEtcdRaftIsThePinnedVersion(t *testing.T) {
	recheck := "determinism.go reaches into etcd raft's unexported fields and validate.go guards etcd raft's panics as of " +
		pinnedEtcdRaftVersion + ": re-check both against the new version's raft.go, log.go and read_only.go, then update pinnedEtcdRaftVersion"

	// The etcd raft linked in: its source path in the module cache names the
	// version (a replace or vendor directory names none, and fails too).
	file, _ := runtime.FuncForPC(reflect.ValueOf(etcdraft.NewRawNode).Pointer()).FileLine(0)
	if want := etcdRaftModule + "@" + pinnedEtcdRaftVersion + "/"; !strings.Contains(filepath.ToSlash(file), want) {
		t.Errorf("linked etcd raft is built from %s, not from %s; %s", file, want, recheck)
	}

	// go.mod requires it.
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatalf("read go.mod: %v", err)
	}
	var required string
	for line := range strings.Lines(string(mod)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == etcdRaftModule {
			required = f[1]
		} else if len(f) >= 3 && f[0] == "require" && f[1] == etcdRaftModule {
			required = f[2]
		}
	}
	if required != pinnedEtcdRaftVersion {
		t.Errorf("go.mod requires %s %q, not %s; %s", etcdRaftModule, required, pinnedEtcdRaftVersion, recheck)
	}
}

// TestClockLocatorNamesWhatIsMissing checks that the reflection fails
// loudly on a RawNode without the fields it needs: naming the field and the
// pinned version, rather than writing somewhere else.
func TestClockLocatorNamesWhatIsMissing(t *testing.T) {
	type raftNoTimeout struct{ electionElapsed int }
	type raftWrongType struct {
		electionElapsed           int
		randomizedElectionTimeout int64
	}
	type rawNode[R any] struct{ raft *R }
	type noRaft struct{ other *raftNoTimeout }
	tests := []struct {
		name    string
		rn      any
		missing string
	}{
		{"no raft field", &noRaft{other: &raftNoTimeout{}}, "RawNode.raft"},
		{"no timeout field", &rawNode[raftNoTimeout]{raft: &raftNoTimeout{}}, "raft.randomizedElectionTimeout"},
		{"timeout of another type", &rawNode[raftWrongType]{raft: &raftWrongType{}}, "raft.randomizedElectionTimeout"},
		{"nil raft", &rawNode[raftNoTimeout]{}, "RawNode.raft"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := locateClock(reflect.ValueOf(tt.rn))
			if err == nil {
				t.Fatal("located a clock that is not there")
			}
			if !strings.Contains(err.Error(), tt.missing) || !strings.Contains(err.Error(), pinnedEtcdRaftVersion) {
				t.Fatalf("error %q names neither %s nor %s", err, tt.missing, pinnedEtcdRaftVersion)
			}
		})
	}
}

// TestClockLocatorFindsTheLinkedEtcdRaftClock checks the reflection against
// the real RawNode: it finds the clock, and writing the timeout there is
// what etcd raft campaigns by.
func TestClockLocatorFindsTheLinkedEtcdRaftClock(t *testing.T) {
	e := newEngine(t, 0, 3, 1)
	if _, err := etcdClock(e.rn); err != nil {
		t.Fatal(err)
	}
	const timeout = 13
	e.clock.timeout.SetInt(timeout)
	for tick := 1; tick <= timeout; tick++ {
		e.rn.Tick()
		campaigned := e.rn.BasicStatus().RaftState.String() != "StateFollower"
		if campaigned != (tick == timeout) {
			t.Fatalf("after %d ticks with the timeout set to %d: campaigning %v", tick, timeout, campaigned)
		}
	}
}

// electionTimeouts ticks a lone node (it campaigns, and its clock restarts
// each time) and records the election timeout after each tick.
func electionTimeouts(t *testing.T, seed uint64, ticks int) []int {
	t.Helper()
	e := newEngine(t, 0, 3, seed)
	var got []int
	for range ticks {
		e.Tick()
		drain(e)
		got = append(got, int(e.clock.timeout.Int()))
	}
	return got
}

// TestSameSeedSameElectionTimeouts checks that the election timeouts come
// from Config.Rand: the same seed draws the same ones, another seed others,
// all in etcd raft's range [election, 2·election).
func TestSameSeedSameElectionTimeouts(t *testing.T) {
	const ticks = 500
	a, b, c := electionTimeouts(t, 42, ticks), electionTimeouts(t, 42, ticks), electionTimeouts(t, 43, ticks)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different election timeouts:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Fatalf("seeds 42 and 43 drew the same election timeouts: %v", a)
	}
	election := DefaultConfig(0, 3).ElectionTicks
	draws := 0
	for i, d := range a {
		if d < election || d >= 2*election {
			t.Fatalf("timeout %d outside [%d, %d)", d, election, 2*election)
		}
		if i > 0 && d != a[i-1] {
			draws++
		}
	}
	if draws < 5 {
		t.Fatalf("only %d redraws in %d ticks: the clock never restarted", draws, ticks)
	}
}
