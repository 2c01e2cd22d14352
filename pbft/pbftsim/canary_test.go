package pbftsim_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/pbft"
	"github.com/bftkit/bftkit/pbft/pbftsim"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// Canaries: each breaks one rule on purpose and passes only if the
// simulator catches it within a few seeds, with the Byzantine behaviour
// that exploits it. The same behaviours against the real rules break
// nothing (the seeded runs draw every behaviour).

func broken(r pbft.Rules) *sim.Protocol {
	return pbftsim.Protocol(pbftsim.Options{Mutate: func(c *pbft.Config) { c.Rules = r }})
}

// caughtWithin runs seeds until the simulator reports a violation and
// returns the first seed that did, or 0.
func caughtWithin(t *testing.T, p *sim.Protocol, seeds int, byz map[types.ValidatorIndex]string) (uint64, string) {
	t.Helper()
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		cfg := sim.DefaultConfig(p, 4, seed)
		cfg.Byzantine = byz
		res, err := sim.Run(cfg)
		require.NoError(t, err)
		if res.Violation != nil {
			t.Logf("caught at seed %d: %s", seed, res.Violation.What)
			return seed, res.Violation.What
		}
	}
	return 0, ""
}

// digestBlind counts commits per (view, seq) whatever digest they name,
// and reports the quorum under the digest of the vote that completed it:
// the bug "commit counted without the digest match".
type digestBlind struct{ inner *qc.Collector }

func (d digestBlind) Add(v qc.SignedVote) (*qc.Quorum, *qc.Equivocation, error) {
	blind := v
	blind.Digest = types.BlockID{}
	q, _, err := d.inner.Add(blind)
	if q != nil {
		q.Digest = v.Digest
	}
	return q, nil, err
}

func (d digestBlind) PruneBelow(view, seq uint64) { d.inner.PruneBelow(view, seq) }

// Canary: commits counted without matching the digest. With one replica
// sending commits for a digest nobody proposed, a replica commits with a
// certificate whose signatures are over another digest; the oracle's check
// of every commit proof must catch it.
func TestCanaryCommitWithoutDigestMatchIsCaught(t *testing.T) {
	p := broken(pbft.Rules{NewCommitCollector: func(c qc.CollectorConfig) pbft.VoteCollector {
		return digestBlind{qc.NewCollector(c)}
	}})
	seed, what := caughtWithin(t, p, 20, map[types.ValidatorIndex]string{3: "wrong-digest"})
	require.NotZero(t, seed, "a commit counted across digests went unnoticed")
	require.Contains(t, what, "signature does not verify")
}

// Canary: a new-view accepted without recomputing O. A Byzantine new
// primary that fills O with null requests makes replicas re-decide numbers
// some of them already executed; the simulator must see the conflict.
func TestCanaryNewViewWithoutRecomputingOIsCaught(t *testing.T) {
	p := broken(pbft.Rules{CheckNewView: func([]*types.PBFTOrder, []pbft.Order) error { return nil }})
	seed, what := caughtWithin(t, p, 20, map[types.ValidatorIndex]string{1: "bad-new-view"})
	require.NotZero(t, seed, "a new-view with a forged O went unnoticed")
	require.Regexp(t, "the engine halted|agreement", what)
}

// countsMessages counts checkpoint messages, not replicas: a repeat from
// one replica counts again. The bug "duplicate checkpoint messages counted
// towards stability".
type countsMessages struct {
	quorum int
	votes  []qc.SignedVote
}

func (c *countsMessages) Add(v qc.SignedVote) { c.votes = append(c.votes, v) }

func (c *countsMessages) Stable(above uint64) *types.PBFTCert {
	var best []qc.SignedVote
	for _, v := range c.votes {
		var same []qc.SignedVote
		for _, w := range c.votes {
			if w.Slot == v.Slot && w.Digest == v.Digest {
				same = append(same, w)
			}
		}
		if v.Slot.Seq > above && len(same) >= c.quorum && (best == nil || v.Slot.Seq > best[0].Slot.Seq) {
			best = same[:c.quorum]
		}
	}
	if best == nil {
		return nil
	}
	return pbft.CheckpointCert(best[0].Slot.Seq, best[0].Digest, best)
}

func (c *countsMessages) Trusted(uint64) (uint64, types.BlockID, []types.ValidatorIndex, bool) {
	return 0, types.BlockID{}, nil, false
}

func (c *countsMessages) PruneBelow(seq uint64) {
	kept := c.votes[:0]
	for _, v := range c.votes {
		if v.Slot.Seq > seq {
			kept = append(kept, v)
		}
	}
	c.votes = kept
}

// Canary: duplicate checkpoint messages counted towards stability. With
// one replica sending everything twice, a checkpoint becomes stable on
// fewer than 2f+1 distinct replicas; the oracle's check of the stored
// checkpoint proof must catch it.
func TestCanaryDuplicateCheckpointCountedIsCaught(t *testing.T) {
	p := broken(pbft.Rules{NewCheckpointTracker: func(_, _, q int) pbft.CheckpointTracker { return &countsMessages{quorum: q} }})
	seed, what := caughtWithin(t, p, 20, map[types.ValidatorIndex]string{3: "duplicate"})
	require.NotZero(t, seed, "a checkpoint made stable by duplicates went unnoticed")
	require.Contains(t, what, "duplicate signer")
}
