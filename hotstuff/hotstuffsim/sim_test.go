package hotstuffsim_test

import (
	"github.com/bftkit/bftkit/protocol"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/hotstuff/hotstuffsim"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

func honest() *sim.Protocol { return hotstuffsim.Protocol(hotstuffsim.Options{}) }

// behaviourNames is the whole catalogue the seeded runs draw from.
func behaviourNames() []string { return honest().BehaviourNames() }

func seedCount(t *testing.T, dflt int) int {
	n, err := sim.SeedsFromEnv(dflt)
	require.NoError(t, err)
	return n
}

// Seeded runs with random faults and up to f Byzantine nodes of every
// behaviour: no safety violation, and liveness in every second phase.
func TestSeededRunsWithFaultsAndByzantineNodes(t *testing.T) {
	for _, tc := range []struct{ n, seeds int }{{4, seedCount(t, 1000)}, {7, seedCount(t, 200)}} {
		for seed := uint64(1); seed <= uint64(tc.seeds); seed++ {
			cfg := sim.DefaultConfig(honest(), tc.n, seed)
			cfg.Byzantine = honest().DrawByzantine(seed, tc.n)
			res, err := sim.Run(cfg)
			require.NoError(t, err)
			if res.Failed() {
				t.Fatalf("n=%d seed %d byzantine %v (replay: bftkit sim --protocol hotstuff --nodes %d --seed %d --byzantine ...):\n%v%s",
					tc.n, seed, cfg.Byzantine, tc.n, seed, res.Violation, res.LivenessFailure)
			}
		}
	}
}

// Every behaviour of the catalogue is accepted by name.
func TestEveryBehaviourRunsByName(t *testing.T) {
	for _, name := range []string{"silent", "equivocate", "double-vote", "vote-invalid", "forge-qc", "tail-fork", "stale-view", "future-view", "bad-timeout"} {
		require.Contains(t, behaviourNames(), name)
		cfg := sim.DefaultConfig(honest(), 4, 11)
		cfg.Byzantine = map[types.ValidatorIndex]string{2: name}
		res, err := sim.Run(cfg)
		require.NoError(t, err)
		require.False(t, res.Failed(), "%s: %v %s", name, res.Violation, res.LivenessFailure)
	}
}

// caughtWithin runs seeds until the simulator reports a violation and
// returns the first seed that did, or 0.
func caughtWithin(t *testing.T, p *sim.Protocol, seeds int, byz map[types.ValidatorIndex]string) (uint64, string) {
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		cfg := sim.DefaultConfig(p, 4, seed)
		cfg.Byzantine = byz
		res, err := sim.Run(cfg)
		require.NoError(t, err)
		if res.Violation != nil {
			return seed, res.Violation.What
		}
	}
	return 0, ""
}

func broken(r hotstuff.Rules) *sim.Protocol {
	return hotstuffsim.Protocol(hotstuffsim.Options{Mutate: func(c *hotstuff.Config) { c.Rules = r }})
}

// Canary (a): the vote rule without its lock check. With the Jolteon
// justification check in place the lock is redundant, so the canary drops
// both voter-side guards; a leader that forks the tail must then break
// agreement, and the simulator must say so. The same leader against the
// real rules breaks nothing (TestEveryBehaviourRunsByName, the seeded runs).
func TestCanaryVoteRuleWithoutLockIsCaught(t *testing.T) {
	p := broken(hotstuff.Rules{
		SafeToVote: func(v, lastVoted, timeoutView uint64, _ bool, _, _ uint64) bool {
			return v > lastVoted && v > timeoutView
		},
		ValidJustification: func(uint64, uint64, *types.TimeoutCert) bool { return true },
	})
	seed, what := caughtWithin(t, p, 20, map[types.ValidatorIndex]string{3: "tail-fork"})
	require.NotZero(t, seed, "a broken vote rule went unnoticed")
	require.Contains(t, what, "the engine halted: hotstuff: the decided block")
	require.Contains(t, what, "does not extend the committed block")
}

// Canary (c): a collector that counts a duplicated vote twice forms QCs
// without a quorum of distinct signers; the oracle's certificate check
// must catch the first one a replica stores or sends.
func TestCanaryDuplicateVoteCountedIsCaught(t *testing.T) {
	p := broken(hotstuff.Rules{NewVoteCollector: func(c qc.CollectorConfig) hotstuff.VoteCollector { return newDupCounting(c) }})
	seed, what := caughtWithin(t, p, 20, map[types.ValidatorIndex]string{3: "duplicate"})
	require.NotZero(t, seed, "a QC counted with a duplicate vote went unnoticed")
	require.Contains(t, what, "too few signers")
}

func calm(t *testing.T, n int, seed uint64) *sim.Sim {
	t.Helper()
	cfg := sim.DefaultConfig(honest(), n, seed)
	cfg.Faults = sim.Profiles["none"](seed)
	s, err := sim.New(cfg)
	require.NoError(t, err)
	return s
}

func TestCommitsInCalmNetwork(t *testing.T) {
	s := calm(t, 4, 1)
	require.NoError(t, s.RunUntilHeight(20, 400))
	require.Nil(t, s.Violation())
}

// Steady state is linear: per committed block, one proposal broadcast
// (n−1 messages) and n−1 votes to the next leader.
func TestSteadyStateCostsTwoNMinusOneMessagesPerBlock(t *testing.T) {
	for _, n := range []int{4, 16} {
		s := calm(t, n, 3)
		require.NoError(t, s.RunUntilHeight(10, 400))
		before, h0 := s.Counters().Total().Sent, s.MaxHonestHeight()
		require.NoError(t, s.RunUntilHeight(h0+50, 1000))
		c := s.Counters()
		perBlock := float64(c.Total().Sent-before) / float64(s.MaxHonestHeight()-h0)
		require.InDelta(t, 2*(n-1), perBlock, 0.05*float64(2*(n-1)), "n=%d: %.2f msgs/block", n, perBlock)
	}
}

// A crashed leader's views end in TCs; the next leader extends the highest
// QC and commits resume.
func TestLeaderCrashRecoversThroughTimeoutCertificates(t *testing.T) {
	s := calm(t, 4, 5)
	require.NoError(t, s.RunUntilHeight(5, 300))
	s.Crash(2) // leads views 4,5, 12,13, ...
	h := s.MaxHonestHeight()
	require.NoError(t, s.RunUntilHeight(h+10, 1500, 0, 1, 3))
	tc := s.Counters().ByType[types.MsgHotStuffTimeout]
	require.Greater(t, tc.Created, uint64(0), "views led by the crashed node must have timed out")
}

func TestPartitionStallsMinorityAndHeals(t *testing.T) {
	s := calm(t, 4, 6)
	require.NoError(t, s.RunUntilHeight(5, 300))
	s.Partition(0, 1) // two and two: no side has a quorum
	s.RunTicks(100)
	stalled := s.MaxHonestHeight()
	s.RunTicks(200)
	require.LessOrEqual(t, s.MaxHonestHeight(), stalled+3, "without a quorum at most the in-flight blocks commit")
	s.Heal()
	require.NoError(t, s.RunUntilHeight(stalled+10, 2000))
}

func TestCrashAndRestartMidViewSignsNothingConflicting(t *testing.T) {
	s := calm(t, 4, 7)
	require.NoError(t, s.RunUntilHeight(6, 300))
	for _, i := range []types.ValidatorIndex{1, 3, 0} {
		s.RunTicks(7)
		s.Crash(i)
		s.RunTicks(15)
		s.Restart(i)
	}
	require.NoError(t, s.RunUntilHeight(s.MaxHonestHeight()+10, 2000))
	require.Nil(t, s.Violation(), "CheckReady checks every Ready after the restarts")
}

func TestFSilentNodesKeepCommitting(t *testing.T) {
	cfg := sim.DefaultConfig(honest(), 7, 8)
	cfg.Faults = sim.Profiles["none"](8)
	cfg.Byzantine = map[types.ValidatorIndex]string{2: "silent", 5: "silent"}
	s, err := sim.New(cfg)
	require.NoError(t, err)
	require.NoError(t, s.RunUntilHeight(15, 3000, 0, 1, 3, 4, 6))
}

func TestEquivocatingLeaderIsReportedAndHarmless(t *testing.T) {
	cfg := sim.DefaultConfig(honest(), 4, 9)
	cfg.Faults = sim.Profiles["none"](9)
	cfg.Byzantine = map[types.ValidatorIndex]string{1: "equivocate"}
	res, err := sim.Run(cfg)
	require.NoError(t, err)
	require.False(t, res.Failed(), "%v %s", res.Violation, res.LivenessFailure)
	require.Greater(t, res.Blocks, uint64(10))
	require.True(t, slices.Contains(behaviourNames(), "equivocate"))
}

// Memory stays bounded: committed blocks far below the head are pruned,
// and a long run keeps committing.
func TestLongRunPrunesOldBlocks(t *testing.T) {
	p := hotstuffsim.Protocol(hotstuffsim.Options{Mutate: func(c *hotstuff.Config) {
		c.RetainCommitted, c.ActiveWindow, c.FailureWindow = 32, 8, 16
	}})
	var engines []*hotstuff.Engine
	inner := p.New
	p.New = func(env protocol.Env) (protocol.Engine, error) {
		e, err := inner(env)
		engines = append(engines, e.(*hotstuff.Engine))
		return e, err
	}
	cfg := sim.DefaultConfig(p, 4, 12)
	cfg.Faults = sim.Profiles["none"](12)
	s, err := sim.New(cfg)
	require.NoError(t, err)
	require.NoError(t, s.RunUntilHeight(600, 4000))
	for _, e := range engines {
		require.LessOrEqual(t, e.BlocksHeld(), 32+256+16, "blocks held by an engine")
	}
}

// The same seed replays the same run exactly, Byzantine nodes, fetch
// retries and all.
func TestSameSeedSameRun(t *testing.T) {
	for _, seed := range []uint64{3, 77, 979} {
		cfg := sim.DefaultConfig(honest(), 4, seed)
		cfg.Byzantine = honest().DrawByzantine(seed, 4)
		a, err := sim.Run(cfg)
		require.NoError(t, err)
		b, err := sim.Run(cfg)
		require.NoError(t, err)
		require.Equal(t, a.LogHash, b.LogHash, "seed %d", seed)
		require.Equal(t, a.Blocks, b.Blocks, "seed %d", seed)
	}
}

// longestCommitGap runs s for ticks and returns the longest stretch of
// ticks in which no honest node's height grew.
func longestCommitGap(s *sim.Sim, ticks int) int {
	longest, gap, last := 0, 0, s.MaxHonestHeight()
	for range ticks {
		s.Tick()
		if h := s.MaxHonestHeight(); h > last {
			last, gap = h, 0
			continue
		}
		gap++
		longest = max(longest, gap)
	}
	return longest
}

// Under round-robin, one crashed validator makes three views in a row
// time out each time the rotation reaches it: its own two, and the one
// before, whose votes it was to aggregate. Those say nothing about a slow
// network, so the back-off waits them out (BackoffAfter) and a pass costs
// about three base timeouts. Doubling from the first timeout
// (BackoffAfter = 0, the canary) costs 1+2+4.
func TestCrashedLeaderCostsThreeBaseTimeoutsPerPass(t *testing.T) {
	const base = 12 // hotstuffsim's BaseTimeoutTicks
	gap := func(backoffAfter int) int {
		cfg := sim.DefaultConfig(hotstuffsim.Protocol(hotstuffsim.Options{Mutate: func(c *hotstuff.Config) {
			c.BackoffAfter, c.Election = backoffAfter, hotstuff.ElectRoundRobin
		}}), 4, 8)
		cfg.Faults = sim.Profiles["none"](8)
		s, err := sim.New(cfg)
		require.NoError(t, err)
		require.NoError(t, s.RunUntilHeight(5, 300))
		s.Crash(2)
		return longestCommitGap(s, 1000)
	}
	withGrace, canary := gap(hotstuff.DefaultViewsPerLeader+1), gap(0)
	t.Logf("longest commit gap with one crashed leader: %d ticks (BackoffAfter 3), %d ticks (BackoffAfter 0)", withGrace, canary)
	require.LessOrEqual(t, withGrace, 4*base, "a pass of the crashed leader should cost about three base timeouts")
	require.GreaterOrEqual(t, canary, 7*base, "the canary doubles from the first timeout")
}
