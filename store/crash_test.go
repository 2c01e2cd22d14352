package store

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

// helperEnv, when set to a directory, turns TestHelperProcess into the
// crash test's child: it persists batches into that store and prints each
// acknowledged height.
const helperEnv = "BFTKIT_STORE_CRASH_DIR"

// Bounds of one child run, so that a child the parent fails to kill still
// exits on its own.
const (
	childMaxBatches = 5000
	childMaxTime    = 20 * time.Second
)

// The crash workload: batch h commits crashBlock(h), stores crashBlock(h+1)
// and a fork at h+1 as pending, and sets the safety state to
// crashSafety(h). Everything is a function of h, so the parent knows what
// each acknowledged height must have left on disk.
func crashBlock(h uint64) *types.Block { return typestest.Block(h, 50, 200) }

func crashFork(h uint64) *types.Block {
	b := typestest.Block(h, 5, 200)
	b.View += 1000
	return b
}

func crashSafety(h uint64) []byte {
	return append(fmt.Appendf(nil, "safety-%d-", h), bytes.Repeat([]byte{byte(h)}, 200)...)
}

func crashProof(h uint64) []byte { return fmt.Appendf(nil, "proof-%d", h) }

func crashBatch(h uint64) Batch {
	b := crashBlock(h)
	return Batch{
		SafetyState: crashSafety(h),
		Blocks:      []*types.Block{crashBlock(h + 1), crashFork(h + 1)},
		Committed:   []types.CommittedBlock{{ID: b.ID(), Block: b, Proof: crashProof(h)}},
	}
}

// TestMain runs the crash test's child process when helperEnv names its
// directory, and the tests otherwise.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

func crashChild(dir string) int {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	h := s.Height()
	deadline := time.Now().Add(childMaxTime)
	for range childMaxBatches {
		if time.Now().After(deadline) {
			break
		}
		h++
		if err := s.Persist(crashBatch(h)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
		// Acknowledged: only now may anything depending on h leave.
		if _, err := fmt.Fprintf(os.Stdout, "%d\n", h); err != nil {
			return 4
		}
	}
	return 0 // the store is not closed: exiting is a crash too
}

// TestCrashSafety kills a child process that persists batches in a loop, at
// whatever point of a write it happens to be, and checks after each kill
// that every acknowledged height is on disk and intact, and that each batch
// survived whole or not at all: the safety state and pending blocks are
// exactly those of the last batch that survived. The child continues from
// the recovered store, so later rounds also test recovery of a recovered
// store.
//
// SIGKILL tests the process crash: what reached the kernel stays. It does
// not test power loss, where only fsynced data stays; that needs a
// fault-injecting filesystem.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	for round := range crashRounds {
		// Kill at a random point: after some acknowledgements, and then
		// up to a few fsyncs later, so that the kill lands anywhere in the
		// write path, not only between batches.
		acks := 5 + rand.N(30)
		delay := time.Duration(rand.N(3000)) * time.Microsecond
		last := runAndKill(t, dir, acks, delay)
		s := openStore(t, dir)
		h := s.Height()
		t.Logf("round %d: killed %v after ack %d, last acknowledged height %d, recovered height %d", round, delay, acks, last, h)
		require.GreaterOrEqual(t, h, last, "an acknowledged height was lost")
		for i := uint64(1); i <= h; i++ {
			cb, err := s.CommittedBlock(i)
			require.NoError(t, err, "height %d", i)
			require.Equal(t, crashBlock(i).ID(), cb.ID, "height %d", i)
			require.Equal(t, crashProof(i), cb.Proof, "height %d", i)
		}
		state, err := s.SafetyState()
		require.NoError(t, err)
		require.Equal(t, crashSafety(h), state, "the safety state is not the one written with the last commit")

		r, err := s.Restore(8)
		require.NoError(t, err)
		require.Equal(t, h, r.Height)
		require.Equal(t, crashBlock(h).ID(), r.Committed[len(r.Committed)-1].ID)
		require.Len(t, r.Committed, int(min(h, 8)))
		next, fork := crashBlock(h+1), crashFork(h+1) // carrying their IDs, as restored blocks do
		want := map[types.BlockID]*types.Block{next.ID(): next, fork.ID(): fork}
		require.Equal(t, want, r.Pending)
		require.NoError(t, s.Close())
	}
}

// crashRounds is how many times TestCrashSafety kills the child.
const crashRounds = 8

// runAndKill runs the child on dir until it has acknowledged acks heights,
// waits delay, kills it with SIGKILL, and returns the highest height it
// acknowledged, including those read after the kill.
func runAndKill(t *testing.T, dir string, acks int, delay time.Duration) uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// An os.Pipe rather than StdoutPipe: Wait does not close it, so the
	// acknowledgements still in the pipe after the kill are read too.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	cmd.Stdout = w
	require.NoError(t, cmd.Start())
	w.Close()

	var once sync.Once
	killAndWait := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(killAndWait)

	heights := make(chan uint64, childMaxBatches+1)
	go func() {
		defer close(heights)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if h, err := strconv.ParseUint(sc.Text(), 10, 64); err == nil {
				heights <- h
			}
		}
	}()

	var last uint64
	timeout := time.After(2 * childMaxTime)
	for seen := 0; seen < acks; {
		select {
		case h, ok := <-heights:
			if !ok {
				killAndWait()
				t.Fatalf("child exited after %d acknowledgements: %v\n%s", seen, cmd.ProcessState, stderr.String())
			}
			last = max(last, h)
			seen++
		case <-timeout:
			killAndWait()
			t.Fatalf("child acknowledged only %d heights in %v\n%s", seen, 2*childMaxTime, stderr.String())
		}
	}
	time.Sleep(delay)
	killAndWait()
	for h := range heights { // the pipe ends when the child is dead
		last = max(last, h)
	}
	require.False(t, cmd.ProcessState.Success(), "the child was to be killed, not to finish: %s", stderr.String())
	return last
}
