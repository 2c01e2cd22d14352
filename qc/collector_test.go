package qc_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

// naiveCollector is the collector's rules written as plainly as possible:
// it keeps every admitted vote and recomputes from the whole history on
// each one.
type naiveCollector struct {
	n, quorum, quota    int
	viewFloor, seqFloor uint64
	votes               []qc.SignedVote
}

type naiveResult struct {
	quorum   *qc.Quorum
	evidence *qc.Equivocation
	err      error
}

func (c *naiveCollector) add(v qc.SignedVote) naiveResult {
	if int(v.Signer) >= c.n {
		return naiveResult{err: qc.ErrNonMember}
	}
	if v.Slot.View < c.viewFloor || v.Slot.Seq < c.seqFloor {
		return naiveResult{err: qc.ErrStale}
	}
	var bySigner []qc.SignedVote
	for _, p := range c.votes {
		if p.Slot == v.Slot && p.Signer == v.Signer {
			bySigner = append(bySigner, p)
		}
	}
	if len(bySigner) > 0 {
		c.votes = append(c.votes, v)
		first := bySigner[0]
		if first.Digest == v.Digest {
			return naiveResult{}
		}
		for _, p := range bySigner[1:] {
			if p.Digest != first.Digest {
				return naiveResult{} // already reported
			}
		}
		return naiveResult{evidence: &qc.Equivocation{Signer: v.Signer, Slot: v.Slot, First: first, Second: v}}
	}
	slotsOfSigner := map[qc.Slot]bool{}
	for _, p := range c.votes {
		if p.Signer == v.Signer {
			slotsOfSigner[p.Slot] = true
		}
	}
	if len(slotsOfSigner) >= c.quota {
		return naiveResult{err: qc.ErrTooManySlots}
	}
	c.votes = append(c.votes, v)
	// v is the signer's first vote in the slot: count the first votes for
	// v's digest, v included.
	firsts := map[types.ValidatorIndex]qc.SignedVote{}
	for _, p := range c.votes {
		if _, seen := firsts[p.Signer]; !seen && p.Slot == v.Slot {
			firsts[p.Signer] = p
		}
	}
	signers := types.NewBitmap(c.n)
	for i, p := range firsts {
		if p.Digest == v.Digest {
			signers.Set(i)
		}
	}
	if signers.Count() != c.quorum {
		return naiveResult{}
	}
	var sigs [][]byte
	for _, i := range signers.Indices() {
		sigs = append(sigs, firsts[i].Sig)
	}
	return naiveResult{quorum: &qc.Quorum{Slot: v.Slot, Digest: v.Digest, Signers: signers, Sigs: sigs}}
}

func (c *naiveCollector) prune(view, seq uint64) {
	c.viewFloor, c.seqFloor = max(c.viewFloor, view), max(c.seqFloor, seq)
	kept := c.votes[:0]
	for _, p := range c.votes {
		if p.Slot.View >= c.viewFloor && p.Slot.Seq >= c.seqFloor {
			kept = append(kept, p)
		}
	}
	c.votes = kept
}

// The collector must agree with the naive one on every step of random
// streams full of duplicates, equivocations, interleaved slots, non-members,
// pruning, stale votes and exhausted quotas.
func TestCollectorMatchesNaiveImplementation(t *testing.T) {
	sigs := make([][]byte, 4)
	for i := range sigs {
		sigs[i] = crypto.Sign(typestest.Validators(4, 1).Keys[i], []byte{byte(i)}).Bytes()
	}
	for seed := uint64(1); seed <= 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		n := []int{1, 4, 5, 7, 10}[rng.IntN(5)]
		cfg := qc.CollectorConfig{N: n, Quorum: 2*n/3 + 1, MaxSlotsPerSigner: 1 + rng.IntN(6)}
		fast := qc.NewCollector(cfg)
		naive := &naiveCollector{n: n, quorum: cfg.Quorum, quota: cfg.MaxSlotsPerSigner}
		var view, seq uint64 // the floors, moving up now and then
		for step := range 300 {
			if rng.IntN(40) == 0 {
				view, seq = view+uint64(rng.IntN(2)), seq+uint64(rng.IntN(2))
				fast.PruneBelow(view, seq)
				naive.prune(view, seq)
				continue
			}
			v := qc.SignedVote{
				Slot:   qc.Slot{View: view + uint64(rng.IntN(4)) - min(view, 1), Seq: seq + uint64(rng.IntN(3)) - min(seq, 1)},
				Digest: types.BlockID{byte(rng.IntN(3))},
				Signer: types.ValidatorIndex(rng.IntN(n + 1)), // n is a non-member
				Sig:    sigs[rng.IntN(len(sigs))],
			}
			gotQ, gotE, err := fast.Add(v)
			want := naive.add(v)
			ctx := fmt.Sprintf("seed %d step %d vote %+v", seed, step, v)
			if want.err != nil {
				require.ErrorIs(t, err, want.err, ctx)
			} else {
				require.NoError(t, err, ctx)
			}
			require.Equal(t, want.quorum, gotQ, ctx)
			require.Equal(t, want.evidence, gotE, ctx)
		}
	}
}

func TestCollectorEmitsQCOnceAtQuorum(t *testing.T) {
	fx := typestest.Validators(4, 1)
	c := qc.NewCollector(qc.CollectorConfig{N: 4, Quorum: 3, MaxSlotsPerSigner: 10})
	v := qc.NewVerifier(typestest.ChainID, fx.Set)
	vote := func(i int) qc.SignedVote {
		return qc.SignedVote{Slot: qc.Slot{View: 5}, Digest: blockA, Signer: types.ValidatorIndex(i),
			Sig: crypto.Sign(fx.Keys[i], types.VoteSignBytes(typestest.ChainID, 5, blockA)).Bytes()}
	}
	for _, i := range []int{2, 0} {
		q, e, err := c.Add(vote(i))
		require.NoError(t, err)
		require.Nil(t, q)
		require.Nil(t, e)
	}
	q, _, _ := c.Add(vote(0))
	require.Nil(t, q, "a duplicate vote must not count towards the quorum")
	q, _, err := c.Add(vote(3))
	require.NoError(t, err)
	require.NotNil(t, q)
	cert, err := q.QC(qc.NewBLSScheme(fx.Set))
	require.NoError(t, err)
	require.NoError(t, v.VerifyQC(cert), "the emitted QC must verify")
	again, _, _ := c.Add(vote(1))
	require.Nil(t, again, "a QC is emitted once")
	require.Equal(t, 4, c.Voters(qc.Slot{View: 5}))
}

func TestCollectorReportsEquivocationOnce(t *testing.T) {
	fx := typestest.Validators(4, 1)
	c := qc.NewCollector(qc.CollectorConfig{N: 4, Quorum: 3, MaxSlotsPerSigner: 10})
	sign := func(d types.BlockID) []byte {
		return crypto.Sign(fx.Keys[1], types.VoteSignBytes(typestest.ChainID, 2, d)).Bytes()
	}
	first := qc.SignedVote{Slot: qc.Slot{View: 2}, Digest: blockA, Signer: 1, Sig: sign(blockA)}
	second := qc.SignedVote{Slot: qc.Slot{View: 2}, Digest: types.BlockID{0xb}, Signer: 1, Sig: sign(types.BlockID{0xb})}
	_, _, err := c.Add(first)
	require.NoError(t, err)
	_, e, _ := c.Add(second)
	require.NotNil(t, e)
	require.Equal(t, types.ValidatorIndex(1), e.Signer)
	ev := e.DoubleSign(types.MsgHotStuffVote, types.PhaseUnknown)
	require.Equal(t, blockA, ev.DigestA)
	require.Equal(t, types.BlockID{0xb}, ev.DigestB)
	// Both signatures in the evidence verify: it is proof, not hearsay.
	for _, p := range []struct {
		d   types.BlockID
		sig []byte
	}{{ev.DigestA, ev.SignatureA}, {ev.DigestB, ev.SignatureB}} {
		s, err := crypto.SignatureFromBytes(p.sig)
		require.NoError(t, err)
		require.True(t, crypto.Verify(fx.Keys[1].PublicKey(), types.VoteSignBytes(typestest.ChainID, 2, p.d), s))
	}
	_, e, _ = c.Add(second)
	require.Nil(t, e, "evidence is reported once per signer and slot")
}

func TestCollectorBoundsAndPrunesSlots(t *testing.T) {
	c := qc.NewCollector(qc.CollectorConfig{N: 4, Quorum: 3, MaxSlotsPerSigner: 2})
	add := func(view, seq uint64, signer types.ValidatorIndex) error {
		_, _, err := c.Add(qc.SignedVote{Slot: qc.Slot{View: view, Seq: seq}, Digest: blockA, Signer: signer})
		return err
	}
	require.NoError(t, add(1, 0, 0))
	require.NoError(t, add(2, 0, 0))
	require.ErrorIs(t, add(3, 0, 0), qc.ErrTooManySlots, "signer 0 used its quota")
	require.NoError(t, add(3, 0, 1), "another signer's quota is its own")
	require.NoError(t, add(2, 0, 0), "a repeat in an open slot needs no quota")
	require.ErrorIs(t, add(1, 0, 4), qc.ErrNonMember)
	c.PruneBelow(2, 0)
	require.Equal(t, 2, c.OpenSlots())
	require.NoError(t, add(4, 0, 0), "pruning gave signer 0 its quota back")
	require.ErrorIs(t, add(1, 0, 2), qc.ErrStale, "a pruned slot never reopens")
}

// A Byzantine signer that votes in many far-future views must exhaust only
// its own quota: honest votes still reach a quorum.
func TestByzantineVoteFloodCannotStarveHonestSigners(t *testing.T) {
	c := qc.NewCollector(qc.CollectorConfig{N: 4, Quorum: 3, MaxSlotsPerSigner: 8})
	for k := range uint64(100) {
		c.Add(qc.SignedVote{Slot: qc.Slot{View: 1<<40 + k}, Digest: blockA, Signer: 3})
	}
	var q *qc.Quorum
	for _, i := range []types.ValidatorIndex{0, 1, 2} {
		got, _, err := c.Add(qc.SignedVote{Slot: qc.Slot{View: 11}, Digest: blockA, Signer: i})
		require.NoError(t, err)
		q = got
	}
	require.NotNil(t, q, "the honest quorum must form despite the flood")
	require.LessOrEqual(t, c.OpenSlots(), 9)
}

// PBFT keeps one view for long stretches; pruning by sequence number at
// stable checkpoints must keep the collector working indefinitely.
func TestCollectorServesALongStableViewWithSeqPruning(t *testing.T) {
	c := qc.NewCollector(qc.CollectorConfig{N: 4, Quorum: 3, MaxSlotsPerSigner: 4})
	for seq := uint64(1); seq <= 1000; seq++ {
		for _, i := range []types.ValidatorIndex{0, 1, 2} {
			_, _, err := c.Add(qc.SignedVote{Slot: qc.Slot{View: 7, Seq: seq}, Digest: blockA, Signer: i})
			require.NoError(t, err, "seq %d", seq)
		}
		if seq%2 == 0 {
			c.PruneBelow(7, seq-1) // a checkpoint every 2, keeping a window
		}
	}
	require.LessOrEqual(t, c.OpenSlots(), 4)
}

func TestTimeoutCollectorFormsVerifiableTC(t *testing.T) {
	fx := typestest.Validators(4, 1)
	v := qc.NewVerifier(typestest.ChainID, fx.Set)
	c := qc.NewTimeoutCollector(qc.CollectorConfig{N: 4, Quorum: 3, MaxSlotsPerSigner: 10})
	timeout := func(i int, hqv uint64) qc.SignedTimeout {
		return qc.SignedTimeout{View: 9, HighQCView: hqv, Signer: types.ValidatorIndex(i),
			Sig: crypto.Sign(fx.Keys[i], types.TimeoutSignBytes(typestest.ChainID, 9, hqv)).Bytes()}
	}
	first, _, err := c.Add(timeout(3, 7))
	require.NoError(t, err)
	require.Nil(t, first)
	_, e, _ := c.Add(timeout(3, 8))
	require.NotNil(t, e, "two timeouts with different high QCs for one view")
	require.Equal(t, 1, c.Senders(9), "the second timeout does not count")
	second, _, _ := c.Add(timeout(0, 8))
	require.Nil(t, second)
	tq, _, _ := c.Add(timeout(1, 7))
	require.NotNil(t, tq)
	tc, err := tq.TC(qc.NewBLSScheme(fx.Set))
	require.NoError(t, err)
	require.Equal(t, []uint64{8, 7, 7}, tc.HighQcViews, "high QC views in signer order 0, 1, 3")
	require.NoError(t, v.VerifyTC(tc))
	again, _, _ := c.Add(timeout(2, 7))
	require.Nil(t, again, "a TC is emitted once")

	ev := e.DoubleSign()
	require.Equal(t, uint64(7), ev.HighQcViewA)
	require.Equal(t, uint64(8), ev.HighQcViewB)
	for _, p := range []struct {
		hqv uint64
		sig []byte
	}{{ev.HighQcViewA, ev.SignatureA}, {ev.HighQcViewB, ev.SignatureB}} {
		sig, err := crypto.SignatureFromBytes(p.sig)
		require.NoError(t, err)
		require.True(t, crypto.Verify(fx.Keys[3].PublicKey(), types.TimeoutSignBytes(typestest.ChainID, 9, p.hqv), sig), "evidence must verify")
	}

	bounded := qc.NewTimeoutCollector(qc.CollectorConfig{N: 4, Quorum: 3, MaxSlotsPerSigner: 1})
	_, _, err = bounded.Add(timeout(0, 1))
	require.NoError(t, err)
	_, _, err = bounded.Add(qc.SignedTimeout{View: 10, Signer: 0})
	require.ErrorIs(t, err, qc.ErrTooManySlots)
	bounded.PruneBelow(10)
	_, _, err = bounded.Add(qc.SignedTimeout{View: 10, Signer: 0})
	require.NoError(t, err)
	_, _, err = bounded.Add(timeout(1, 1))
	require.ErrorIs(t, err, qc.ErrStale)
	_, _, err = bounded.Add(qc.SignedTimeout{View: 10, Signer: 4})
	require.ErrorIs(t, err, qc.ErrNonMember)
}
