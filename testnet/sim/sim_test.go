package sim_test

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/testnet/toy"
	"github.com/bftkit/bftkit/types"
)

// randomSeeds is how many random seeds the seeded tests run: a few hundred
// in `go test`, more with BFTKIT_SIM_SEEDS=N.
func randomSeeds(t *testing.T, dflt int) int {
	n, err := sim.SeedsFromEnv(dflt)
	require.NoError(t, err)
	return n
}

func TestSameSeedGivesIdenticalEventLog(t *testing.T) {
	for _, seed := range []uint64{1, 42, 9001} {
		cfg := sim.DefaultConfig(toy.SequencerProtocol(), 4, seed)
		a, err := sim.Run(cfg)
		require.NoError(t, err)
		b, err := sim.Run(cfg)
		require.NoError(t, err)
		require.Equal(t, a.LogHash, b.LogHash, "seed %d: two runs differ", seed)
		require.Equal(t, a.Counters, b.Counters, "seed %d", seed)
		require.Equal(t, a.Blocks, b.Blocks, "seed %d", seed)
	}
	a, _ := sim.Run(sim.DefaultConfig(toy.SequencerProtocol(), 4, 1))
	b, _ := sim.Run(sim.DefaultConfig(toy.SequencerProtocol(), 4, 2))
	require.NotEqual(t, a.LogHash, b.LogHash, "different seeds should not give one log: is the seed used at all?")
}

// Harness validation: an engine that commits without a quorum must be
// caught under partitions within a few seeds. If this test fails, the
// oracle is blind and every green run proves nothing.
func TestHarnessCatchesUnsafeEngine(t *testing.T) {
	caught := 0
	for seed := uint64(1); seed <= 5; seed++ {
		cfg := sim.DefaultConfig(toy.EagerProtocol(), 4, seed)
		cfg.Faults = sim.Profiles["partitions"](seed)
		res, err := sim.Run(cfg)
		require.NoError(t, err)
		if res.Violation != nil {
			caught++
			msg := res.Violation.Error()
			require.Contains(t, msg, "agreement")
			require.Contains(t, msg, "seed "+strconv.FormatUint(seed, 10))
			require.Contains(t, msg, "last events:")
			// The seed replays the violation exactly.
			again, _ := sim.Run(cfg)
			require.NotNil(t, again.Violation)
			require.Equal(t, res.Violation.Tick, again.Violation.Tick)
			require.Equal(t, res.LogHash, again.LogHash)
		}
	}
	require.Greater(t, caught, 0, "no seed caught the unsafe engine")
}

// seedsToRun is seeds 1..fixed, which every run repeats, then `random`
// seeds from a base drawn afresh each run (swarm testing across CI runs);
// a failure prints the seed, which replays it.
func seedsToRun(t *testing.T, fixed, random int) []uint64 {
	var seeds []uint64
	for s := 1; s <= fixed; s++ {
		seeds = append(seeds, uint64(s))
	}
	var b [8]byte
	_, err := crand.Read(b[:])
	require.NoError(t, err)
	base := binary.BigEndian.Uint64(b[:]) >> 1
	t.Logf("random seeds start at %d", base)
	for k := range random {
		seeds = append(seeds, base+uint64(k))
	}
	return seeds
}

func TestSequencerSeededRuns(t *testing.T) {
	for _, n := range []int{4, 7} {
		random := randomSeeds(t, map[int]int{4: 100, 7: 30}[n])
		for _, seed := range seedsToRun(t, map[int]int{4: 100, 7: 30}[n], random) {
			res, err := sim.Run(sim.DefaultConfig(toy.SequencerProtocol(), n, seed))
			require.NoError(t, err)
			if res.Violation != nil {
				t.Fatalf("n=%d: %v", n, res.Violation)
			}
			if res.LivenessFailure != "" {
				t.Fatalf("n=%d seed %d (replay: bftkit sim --protocol sequencer --nodes %d --seed %d): %s", n, seed, n, seed, res.LivenessFailure)
			}
		}
	}
}

func newScenario(t *testing.T, n int) *sim.Sim {
	cfg := sim.DefaultConfig(toy.SequencerProtocol(), n, 7)
	cfg.Faults = sim.Profiles["none"](7)
	s, err := sim.New(cfg)
	require.NoError(t, err)
	return s
}

func TestScenarioCommitsInCalmNetwork(t *testing.T) {
	s := newScenario(t, 4)
	require.NoError(t, s.RunUntilHeight(10, 200))
	require.Nil(t, s.Violation())
	c := s.Counters().Total()
	require.Greater(t, c.Sent, uint64(0))
	require.Equal(t, s.Committed(0), s.Committed(3)[:len(s.Committed(0))], "replicas apply the leader's chain")
}

func TestScenarioMinorityPartitionKeepsCommittingAndHeals(t *testing.T) {
	s := newScenario(t, 4)
	require.NoError(t, s.RunUntilHeight(3, 100))
	s.Partition(3) // node 3 alone; 0, 1, 2 are a quorum
	require.NoError(t, s.RunUntilHeight(8, 200, 0, 1, 2))
	stuck := s.Height(3)
	s.Heal()
	require.NoError(t, s.RunUntilHeight(10, 300), "node 3 catches up after the heal")
	require.Greater(t, s.Height(3), stuck)
}

func TestScenarioMajorityPartitionStopsCommits(t *testing.T) {
	s := newScenario(t, 4)
	require.NoError(t, s.RunUntilHeight(2, 100))
	s.Partition(0, 1) // the leader with one replica: no quorum
	s.RunTicks(50)    // let in-flight commits land
	h := s.Height(0)
	s.RunTicks(200)
	require.Equal(t, h, s.Height(0), "no quorum, no commit")
	s.Heal()
	require.NoError(t, s.RunUntilHeight(h+3, 300))
}

func TestScenarioCrashedReplicaRestartsAndCatchesUp(t *testing.T) {
	s := newScenario(t, 4)
	require.NoError(t, s.RunUntilHeight(3, 100))
	s.Crash(2)
	require.NoError(t, s.RunUntilHeight(12, 300, 0, 1, 3))
	require.Less(t, s.Height(2), uint64(12))
	s.Restart(2)
	require.NoError(t, s.RunUntilHeight(14, 400))
	require.Nil(t, s.Violation())
}

func TestScenarioLeaderCrashLosesNothingCommitted(t *testing.T) {
	s := newScenario(t, 4)
	require.NoError(t, s.RunUntilHeight(5, 100))
	s.Crash(0)
	before := s.Committed(0)
	s.RunTicks(100)
	s.Restart(0)
	require.Equal(t, before, s.Committed(0)[:len(before)], "applied blocks survive the crash")
	require.NoError(t, s.RunUntilHeight(uint64(len(before))+3, 300))
}

func TestScenarioPausedNodeResumes(t *testing.T) {
	s := newScenario(t, 4)
	require.NoError(t, s.RunUntilHeight(2, 100))
	s.Pause(1)
	require.NoError(t, s.RunUntilHeight(6, 200, 0, 2, 3))
	s.Resume(1)
	require.NoError(t, s.RunUntilHeight(8, 300))
}

func TestGenericByzantineBehaviours(t *testing.T) {
	p := toy.SequencerProtocol()
	require.Contains(t, p.BehaviourNames(), "silent")
	for _, name := range []string{"silent", "duplicate"} {
		cfg := sim.DefaultConfig(p, 4, 3)
		cfg.Faults = sim.Profiles["none"](3)
		cfg.Byzantine = map[types.ValidatorIndex]string{3: name}
		res, err := sim.Run(cfg)
		require.NoError(t, err)
		require.False(t, res.Failed(), "%s: %v %s", name, res.Violation, res.LivenessFailure)
	}
}

func TestConfigErrorsAreClear(t *testing.T) {
	cfg := sim.DefaultConfig(toy.SequencerProtocol(), 4, 1)
	cfg.Byzantine = map[types.ValidatorIndex]string{1: "silent", 2: "silent"}
	_, err := sim.New(cfg)
	require.ErrorContains(t, err, "exceed f = 1")
	cfg.Byzantine = map[types.ValidatorIndex]string{1: "no-such"}
	_, err = sim.New(cfg)
	require.ErrorContains(t, err, `no behaviour "no-such"`)
	require.True(t, strings.Contains(err.Error(), "silent"), "the error lists the known behaviours")
	cfg.Byzantine = nil
	cfg.Faults.Link.Drop = 2
	_, err = sim.New(cfg)
	require.ErrorContains(t, err, "drop probability")
}

// The CheckReady hook sees every honest Ready, and a complaint stops the
// run as a violation: a canary that proves protocol checks are wired in.
func TestCheckReadyHookReportsViolations(t *testing.T) {
	p := toy.SequencerProtocol()
	readies := 0
	p.CheckReady = func(_ *qc.Verifier, _ []byte, rd *types.Ready) error {
		readies++
		if len(rd.Committed) > 0 && rd.Committed[0].Block.Height == 3 {
			return errors.New("height 3 is forbidden in this test")
		}
		return nil
	}
	cfg := sim.DefaultConfig(p, 4, 5)
	cfg.Faults = sim.Profiles["none"](5)
	res, err := sim.Run(cfg)
	require.NoError(t, err)
	require.Greater(t, readies, 0)
	require.NotNil(t, res.Violation)
	require.Contains(t, res.Violation.What, "height 3 is forbidden")
}

func TestCountersCountSignaturesCreatedAndVerified(t *testing.T) {
	s := newScenario(t, 4)
	require.NoError(t, s.RunUntilHeight(5, 100))
	c := s.Counters()
	prop := c.ByType[types.MsgHotStuffProposal]
	require.Greater(t, prop.Created, uint64(0))
	require.Equal(t, 3*prop.Created, prop.Sent, "a broadcast is created once and sent to n-1 peers")
	tot := c.Total()
	require.LessOrEqual(t, tot.Delivered, tot.Sent)
	require.Greater(t, tot.Delivered, uint64(0))
}
