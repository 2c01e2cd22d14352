package node

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/mempool"
	"github.com/bftkit/bftkit/store"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
	"github.com/stretchr/testify/require"
)

const crashChildEnv = "BFTKIT_NODE_CRASH_CHILD"

// crashSpec is what the parent tells the child: the chain and where each
// validator keeps its data.
type crashSpec struct {
	Addrs []string `json:"addrs"`
	Dirs  []string `json:"dirs"`
}

// signedRecord is one line of the child's report: a message a validator
// signed and sent, or a block it committed, printed only once durable.
type signedRecord struct {
	Kind      string // "vote", "proposal", "timeout", "commit"
	Validator types.ValidatorIndex
	View      uint64 // for commit: the height
	Value     string // block ID, or the timeout's high-QC view
}

func (r signedRecord) String() string {
	return fmt.Sprintf("%s %d %d %s", r.Kind, r.Validator, r.View, r.Value)
}

func parseRecord(line string) (signedRecord, bool) {
	var r signedRecord
	_, err := fmt.Sscanf(line, "%s %d %d %s", &r.Kind, &r.Validator, &r.View, &r.Value)
	return r, err == nil
}

// recordOf describes what m commits its signer to, if it is signed.
func recordOf(m types.Message) (signedRecord, bool) {
	switch p := m.Payload.(type) {
	case *types.Vote:
		return signedRecord{"vote", p.Voter, p.View, p.BlockID.Hex()}, true
	case *types.Proposal:
		return signedRecord{"proposal", p.Block.Proposer, p.Block.View, p.Block.ID().Hex()}, true
	case *types.Timeout:
		return signedRecord{"timeout", p.Sender, p.View, fmt.Sprint(p.HighQCView())}, true
	}
	return signedRecord{}, false
}

// recorder is an Observer that reports records to a sink.
type recorder struct {
	mu   sync.Mutex
	sink func(signedRecord)
}

func (r *recorder) Sent(m types.Message) {
	if rec, ok := recordOf(m); ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.sink(rec)
	}
}

func (r *recorder) Committed(cb types.CommittedBlock) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sink(signedRecord{"commit", cb.Block.Proposer, cb.Block.Height, cb.ID.Hex()})
}

// TestKilledClusterLosesNothingAndSignsNothingDifferently runs four
// validators in a child process under load, kills it with SIGKILL at a
// random moment, restarts the validators from their stores in this
// process, and checks that (1) every block the child reported committed
// is still committed, at the same height with the same ID, and (2) no
// validator signs, after the restart, a vote, proposal or timeout for a
// view that conflicts with what it signed before the kill.
func TestKilledClusterLosesNothingAndSignsNothingDifferently(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	spec := crashSpec{}
	for _, port := range freePorts(t, 4) {
		spec.Addrs = append(spec.Addrs, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))
		spec.Dirs = append(spec.Dirs, t.TempDir())
	}
	specFile := filepath.Join(t.TempDir(), "spec.json")
	data, err := json.Marshal(spec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(specFile, data, 0o600))

	// Several kills, each right after the child reports a signed message:
	// the moment a wrong order (send, then persist) would show.
	var before []signedRecord
	height := 0
	for round := range crashRounds {
		height += 5 + rng.IntN(10)
		got := runUntilKilled(t, specFile, height)
		require.NotEmpty(t, got, "round %d", round)
		requireSignedIsDurable(t, spec, got)
		before = append(before, got...)
	}

	after := restartAndRecord(t, spec, before)
	requireNoConflicts(t, before, after)
}

// crashRounds is how many times the test kills the child.
const crashRounds = 3

// runUntilKilled starts the child, reads its records until some validator
// committed minHeight, and kills it with SIGKILL as soon as the next
// signed message is reported.
func runUntilKilled(t *testing.T, specFile string, minHeight int) []signedRecord {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+specFile)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var records []signedRecord
	deadline := time.After(60 * time.Second)
	armed := false
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				require.True(t, killed, "the child exited before it was killed")
				return records
			}
			rec, ok := parseRecord(line)
			require.True(t, ok, "child printed %q", line)
			records = append(records, rec)
			switch {
			case killed:
				// Drain what the child wrote before it died.
			case armed && rec.Kind != "commit":
				require.NoError(t, cmd.Process.Kill()) // SIGKILL: no chance to clean up
				_ = cmd.Wait()
				killed = true
			case rec.Kind == "commit" && rec.View >= uint64(minHeight):
				armed = true
			}
		case <-deadline:
			t.Fatalf("the child did not reach height %d within 60 s", minHeight)
		}
	}
}

// requireSignedIsDurable checks the persist-before-send order directly:
// for every vote, proposal or timeout the child sent before it died, the
// safety state in that validator's store already covers it, so a
// restarted validator knows what it signed.
func requireSignedIsDurable(t *testing.T, spec crashSpec, before []signedRecord) {
	for i, dir := range spec.Dirs {
		st, err := store.Open(filepath.Join(dir, "blocks"), store.Options{ErrorIfMissing: true})
		require.NoError(t, err)
		raw, err := st.SafetyState()
		require.NoError(t, st.Close())
		require.NoError(t, err)
		var s types.HotStuffSafety
		require.NoError(t, s.Unmarshal(raw))
		for _, r := range before {
			if int(r.Validator) != i {
				continue
			}
			switch r.Kind {
			case "vote":
				require.GreaterOrEqual(t, s.LastVotedView, r.View, "validator %d sent a vote its store does not know", i)
			case "proposal":
				require.GreaterOrEqual(t, s.ProposedView, r.View, "validator %d sent a proposal its store does not know", i)
			case "timeout":
				require.GreaterOrEqual(t, s.TimeoutView, r.View, "validator %d sent a timeout its store does not know", i)
			}
		}
	}
}

// restartAndRecord restarts the validators in this process from the
// child's directories, runs until they commit past everything the child
// committed, and returns what they signed and committed.
func restartAndRecord(t *testing.T, spec crashSpec, before []signedRecord) []signedRecord {
	var mu sync.Mutex
	var after []signedRecord
	rec := &recorder{sink: func(r signedRecord) {
		mu.Lock()
		defer mu.Unlock()
		after = append(after, r)
	}}
	c := clusterFromSpec(t, spec, rec)
	// Nothing committed is lost: each committed record is in the store.
	var top uint64
	for _, r := range before {
		if r.Kind != "commit" {
			continue
		}
		top = max(top, r.View)
	}
	c.waitHeight(top+3, 60*time.Second)
	c.requireAgreement(top + 3)
	for _, r := range before {
		if r.Kind != "commit" {
			continue
		}
		for i, n := range c.nodes {
			id, err := n.store.CommittedID(r.View)
			require.NoError(t, err, "validator %d, height %d", i, r.View)
			require.Equal(t, r.Value, id.Hex(), "validator %d changed the block at height %d", i, r.View)
		}
	}
	for _, n := range c.nodes {
		require.NoError(t, n.Stop())
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]signedRecord(nil), after...)
}

// requireNoConflicts checks that no validator signed two different things
// for one view, across the kill.
func requireNoConflicts(t *testing.T, before, after []signedRecord) {
	type key struct {
		kind string
		v    types.ValidatorIndex
		view uint64
	}
	signed := map[key]string{}
	for _, r := range before {
		if r.Kind != "commit" {
			signed[key{r.Kind, r.Validator, r.View}] = r.Value
		}
	}
	checked := 0
	for _, r := range after {
		if r.Kind == "commit" {
			continue
		}
		if prev, ok := signed[key{r.Kind, r.Validator, r.View}]; ok {
			checked++
			require.Equal(t, prev, r.Value, "validator %d signed a different %s for view %d after the restart", r.Validator, r.Kind, r.View)
		}
	}
	t.Logf("%d records before the kill, %d after; %d re-signed the same view, consistently", len(before), len(after), checked)
}

// clusterFromSpec starts the spec's validators in this process.
func clusterFromSpec(t *testing.T, spec crashSpec, obs Observer) *cluster {
	g, vs, err := specGenesis(spec)
	require.NoError(t, err)
	c := &cluster{t: t, protocol: ProtocolHotStuff, genesis: g, set: vs, dirs: spec.Dirs, nodes: make([]*Node, len(spec.Addrs)), apps: make([]*app.KVStore, len(spec.Addrs))}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
	})
	for i := range spec.Addrs {
		c.startObserved(i, obs)
	}
	return c
}

func specGenesis(spec crashSpec) (*types.Genesis, *types.ValidatorSet, error) {
	return NewGenesis(typestest.ChainID, typestest.Validators(len(spec.Addrs), 11).Keys, spec.Addrs)
}

// runCrashChild is the child process: it runs the spec's cluster under a
// steady load and prints every durable record until it is killed (or, as
// a bound, for two minutes).
func runCrashChild(specFile string) int {
	data, err := os.ReadFile(specFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var spec crashSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	g, vs, err := specGenesis(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rec := &recorder{sink: func(r signedRecord) { fmt.Fprintln(os.Stdout, r.String()) }}
	var nodes []*Node
	for i := range spec.Addrs {
		n, _, err := startValidator(ProtocolHotStuff, g, vs, i, spec.Dirs[i], rec, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		nodes = append(nodes, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := 0; ctx.Err() == nil; i++ {
		n := nodes[i%len(nodes)]
		_, _ = n.mempool.Add(ctx, fmt.Appendf(nil, "key%d=%s", i, strings.Repeat("v", 64)), mempool.Local)
		if i%20 == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return 0
}
