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
// it keeps every vote and recomputes from the whole history on each one.
type naiveCollector struct {
	n, quorum int
	votes     []qc.SignedVote
}

type naiveResult struct {
	quorum   *qc.Quorum
	evidence *qc.Equivocation
}

func (c *naiveCollector) add(v qc.SignedVote) naiveResult {
	defer func() { c.votes = append(c.votes, v) }()
	var bySigner []qc.SignedVote
	for _, p := range c.votes {
		if p.Slot == v.Slot && p.Signer == v.Signer {
			bySigner = append(bySigner, p)
		}
	}
	if len(bySigner) > 0 {
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
	// v is the signer's first vote in the slot: count the first votes for
	// v's digest, v included.
	firsts := map[types.ValidatorIndex]qc.SignedVote{v.Signer: v}
	for _, p := range c.votes {
		if _, seen := firsts[p.Signer]; !seen && p.Slot == v.Slot && !hasEarlier(c.votes, p) {
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
	var sigs []crypto.Signature
	for _, i := range signers.Indices() {
		sigs = append(sigs, firsts[i].Sig)
	}
	return naiveResult{quorum: &qc.Quorum{Slot: v.Slot, Digest: v.Digest, Signers: signers, Sigs: sigs}}
}

// hasEarlier reports whether p's signer voted in p's slot before p.
func hasEarlier(votes []qc.SignedVote, p qc.SignedVote) bool {
	for _, q := range votes {
		if q == p {
			return false
		}
		if q.Slot == p.Slot && q.Signer == p.Signer {
			return true
		}
	}
	return false
}

// The collector must agree with the naive one on every step of random vote
// streams full of duplicates, equivocations and interleaved slots.
func TestCollectorMatchesNaiveImplementation(t *testing.T) {
	sigs := make([]crypto.Signature, 4)
	for i := range sigs {
		sigs[i] = crypto.Sign(typestest.Validators(4, 1).Keys[i], []byte{byte(i)})
	}
	for seed := uint64(1); seed <= 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		n := []int{1, 4, 5, 7, 10}[rng.IntN(5)]
		quorum := 2*n/3 + 1
		fast := qc.NewCollector(n, quorum, 1000)
		naive := &naiveCollector{n: n, quorum: quorum}
		for step := range 200 {
			v := qc.SignedVote{
				Slot:   qc.Slot{View: uint64(rng.IntN(3)), Seq: uint64(rng.IntN(2))},
				Digest: types.BlockID{byte(rng.IntN(3))},
				Signer: types.ValidatorIndex(rng.IntN(n)),
				Sig:    sigs[rng.IntN(len(sigs))],
			}
			gotQ, gotE, err := fast.Add(v)
			require.NoError(t, err)
			want := naive.add(v)
			ctx := fmt.Sprintf("seed %d step %d vote %+v", seed, step, v)
			require.Equal(t, want.quorum, gotQ, ctx)
			require.Equal(t, want.evidence, gotE, ctx)
		}
	}
}

func TestCollectorEmitsQCOnceAtQuorum(t *testing.T) {
	fx := typestest.Validators(4, 1)
	c := qc.NewCollector(4, 3, 10)
	v := qc.NewVerifier(typestest.ChainID, fx.Set)
	vote := func(i int) qc.SignedVote {
		return qc.SignedVote{Slot: qc.Slot{View: 5}, Digest: blockA, Signer: types.ValidatorIndex(i),
			Sig: crypto.Sign(fx.Keys[i], types.VoteSignBytes(typestest.ChainID, 5, blockA))}
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
	require.NoError(t, v.VerifyQC(q.QC()), "the emitted QC must verify")
	again, _, _ := c.Add(vote(1))
	require.Nil(t, again, "a QC is emitted once")
	require.Equal(t, 4, c.Voters(qc.Slot{View: 5}))
}

func TestCollectorReportsEquivocationOnce(t *testing.T) {
	fx := typestest.Validators(4, 1)
	c := qc.NewCollector(4, 3, 10)
	sign := func(d types.BlockID) crypto.Signature {
		return crypto.Sign(fx.Keys[1], types.VoteSignBytes(typestest.ChainID, 2, d))
	}
	first := qc.SignedVote{Slot: qc.Slot{View: 2}, Digest: blockA, Signer: 1, Sig: sign(blockA)}
	second := qc.SignedVote{Slot: qc.Slot{View: 2}, Digest: types.BlockID{0xb}, Signer: 1, Sig: sign(types.BlockID{0xb})}
	_, _, err := c.Add(first)
	require.NoError(t, err)
	_, e, _ := c.Add(second)
	require.NotNil(t, e)
	require.Equal(t, types.ValidatorIndex(1), e.Signer)
	ev := e.DoubleSign(types.MsgHotStuffVote)
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
	c := qc.NewCollector(4, 3, 2)
	add := func(view uint64, signer types.ValidatorIndex) error {
		_, _, err := c.Add(qc.SignedVote{Slot: qc.Slot{View: view}, Digest: blockA, Signer: signer})
		return err
	}
	require.NoError(t, add(1, 0))
	require.NoError(t, add(2, 0))
	require.ErrorIs(t, add(3, 0), qc.ErrTooManySlots)
	require.NoError(t, add(2, 1), "an open slot still takes votes")
	require.ErrorIs(t, add(1, 4), qc.ErrNonMember)
	c.PruneBelow(2)
	require.Equal(t, 1, c.OpenSlots())
	require.NoError(t, add(3, 0))
}

func TestTimeoutCollectorFormsVerifiableTC(t *testing.T) {
	fx := typestest.Validators(4, 1)
	v := qc.NewVerifier(typestest.ChainID, fx.Set)
	c := qc.NewTimeoutCollector(4, 3, 10)
	timeout := func(i int, hqv uint64) qc.SignedTimeout {
		return qc.SignedTimeout{View: 9, HighQCView: hqv, Signer: types.ValidatorIndex(i),
			Sig: crypto.Sign(fx.Keys[i], types.TimeoutSignBytes(typestest.ChainID, 9, hqv))}
	}
	tc, _, err := c.Add(timeout(3, 7))
	require.NoError(t, err)
	require.Nil(t, tc)
	_, e, _ := c.Add(timeout(3, 8))
	require.NotNil(t, e, "two timeouts with different high QCs for one view")
	require.Equal(t, 1, c.Senders(9), "the second timeout does not count")
	tc, _, _ = c.Add(timeout(0, 8))
	require.Nil(t, tc)
	tc, _, _ = c.Add(timeout(1, 7))
	require.NotNil(t, tc)
	require.Equal(t, []uint64{8, 7, 7}, tc.HighQcViews, "high QC views in signer order 0, 1, 3")
	require.NoError(t, v.VerifyTC(tc))
	again, _, _ := c.Add(timeout(2, 7))
	require.Nil(t, again, "a TC is emitted once")

	bounded := qc.NewTimeoutCollector(4, 3, 1)
	_, _, err = bounded.Add(timeout(0, 1))
	require.NoError(t, err)
	_, _, err = bounded.Add(qc.SignedTimeout{View: 10, Signer: 0})
	require.ErrorIs(t, err, qc.ErrTooManySlots)
	bounded.PruneBelow(10)
	_, _, err = bounded.Add(qc.SignedTimeout{View: 10, Signer: 0})
	require.NoError(t, err)
	_, _, err = bounded.Add(qc.SignedTimeout{View: 10, Signer: 4})
	require.ErrorIs(t, err, qc.ErrNonMember)
}
