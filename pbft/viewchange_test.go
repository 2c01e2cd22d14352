package pbft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// Paper-conformance tests for the view change, Castro-Liskov OSDI'99 §4.4
// and §4.5.2.

func (f *fixture) viewChange(from types.ValidatorIndex, view uint64, stable *types.PBFTCert, prepared ...*types.PBFTPrepared) *types.PBFTViewChange {
	vc := &types.PBFTViewChange{View: view, Replica: from, Stable: stable, Prepared: prepared}
	h, err := vc.BodyHash()
	require.NoError(f.t, err)
	vc.Signature = f.sign(from, types.ViewChangeSignBytes(testChain, view, h))
	return vc
}

// prepared is a genuine prepared certificate for (view, seq, d).
func (f *fixture) prepared(view, seq uint64, d types.BlockID) *types.PBFTPrepared {
	p := Primary(view, f.n)
	col := qc.NewCollector(qc.CollectorConfig{N: f.n, Quorum: quorum(f.n) - 1, MaxSlotsPerSigner: 8})
	var q *qc.Quorum
	for i := range f.n {
		if types.ValidatorIndex(i) == p || q != nil {
			continue
		}
		v := f.vote(types.PhasePrepare, view, seq, d, types.ValidatorIndex(i))
		q, _, _ = col.Add(qc.SignedVote{Slot: qc.Slot{View: view, Seq: seq}, Digest: d, Signer: v.Replica, Sig: v.Signature})
	}
	return &types.PBFTPrepared{View: view, Seq: seq, Digest: d,
		PrePrepareSignature: f.sign(p, types.PrePrepareSignBytes(testChain, view, seq, d)), Prepares: q.PBFTCert(types.PhasePrepare)}
}

func (f *fixture) newView(view uint64, vcs []*types.PBFTViewChange, orders []Order) *types.PBFTNewView {
	p := Primary(view, f.n)
	nv := &types.PBFTNewView{View: view, Primary: p, ViewChanges: vcs}
	for _, o := range orders {
		nv.PrePrepares = append(nv.PrePrepares, &types.PBFTOrder{Seq: o.Seq, Digest: o.Digest,
			Signature: f.sign(p, types.PrePrepareSignBytes(testChain, view, o.Seq, o.Digest))})
	}
	h, err := nv.BodyHash()
	require.NoError(f.t, err)
	nv.Signature = f.sign(p, types.NewViewSignBytes(testChain, view, h))
	return nv
}

func (f *fixture) tick(n int) {
	for range n {
		f.e.Tick()
		f.drain()
	}
}

// §4.4: a backup whose timer expires moves to v+1 and multicasts a
// view-change with its stable checkpoint proof C and prepared set P.
func TestTimeoutSendsViewChangeWithCheckpointAndPreparedSet(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	require.NoError(t, f.step(pp))
	f.votes(types.PhasePrepare, 0, 1, pp.Block.ID(), 1, 2) // prepared, not committed
	f.sent()
	f.tick(f.cfg.ViewChangeTicks)
	vcs := ofType[*types.PBFTViewChange](f.sent())
	require.Len(t, vcs, 1)
	vc := vcs[0]
	require.Equal(t, uint64(1), vc.View)
	require.True(t, f.e.Status().ViewChanging)
	require.Nil(t, vc.Stable, "genesis checkpoint")
	require.Len(t, vc.Prepared, 1)
	require.Equal(t, pp.Block.ID(), vc.Prepared[0].Digest)
	require.NoError(t, VerifyMessage(testVerifier(f), f.cfg.WindowSize, types.Message{From: 3, Payload: vc}))
	require.ErrorIs(t, f.step(f.prePrepare(0, 2, "b")), ErrWrongView, "no normal-case messages while changing views")
}

// §4.4: O keeps a prepared number with its digest, takes the highest view's
// certificate where two differ, fills gaps with null requests, and starts
// above the newest stable checkpoint in V.
func TestComputeO(t *testing.T) {
	f := newFixture(t, 4, 3)
	a, b, c := types.BlockID{0xa}, types.BlockID{0xb}, types.BlockID{0xc}
	stable := &types.PBFTCert{Phase: types.PhaseCheckpoint, Seq: 4, Digest: types.BlockID{4}}
	vcs := []*types.PBFTViewChange{
		f.viewChange(0, 3, nil, f.prepared(0, 5, a), f.prepared(0, 3, c)),
		f.viewChange(1, 3, stable, f.prepared(1, 5, b)),
		f.viewChange(2, 3, nil, f.prepared(0, 8, c)),
	}
	orders, got := ComputeO(vcs)
	require.Equal(t, stable, got)
	require.Equal(t, []Order{
		{5, b}, // view 1 beats view 0
		{6, NullBlock(6).ID()},
		{7, NullBlock(7).ID()},
		{8, c},
	}, orders, "seq 3 is at or below min-s = 4")
}

// §4.4: the new primary sends a new-view once it has 2f+1 view-changes,
// and a prepared request keeps its number in the new view.
func TestNewPrimarySendsNewViewPreservingPreparedNumber(t *testing.T) {
	f := newFixture(t, 4, 1) // the primary of view 1
	pp := f.prePrepare(0, 1, "a")
	require.NoError(t, f.step(pp))
	d := pp.Block.ID()
	f.votes(types.PhasePrepare, 0, 1, d, 2, 3)
	f.tick(f.cfg.ViewChangeTicks)
	f.sent()
	require.NoError(t, f.step(f.viewChange(2, 1, nil)))
	require.Empty(t, ofType[*types.PBFTNewView](f.sent()), "2 view-changes of 3")
	require.NoError(t, f.step(f.viewChange(3, 1, nil)))
	nvs := ofType[*types.PBFTNewView](f.sent())
	require.Len(t, nvs, 1)
	require.Len(t, nvs[0].PrePrepares, 1)
	require.Equal(t, uint64(1), nvs[0].PrePrepares[0].Seq)
	require.Equal(t, d, nvs[0].PrePrepares[0].Digest)
	require.False(t, f.e.Status().ViewChanging)
	require.Equal(t, uint64(1), f.e.Status().View)
}

// §4.4: backups recompute O and reject a new-view that differs, or one
// not sent by the new primary.
func TestBackupRejectsNewViewWithWrongOOrFromNonPrimary(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	require.NoError(t, f.step(pp))
	d := pp.Block.ID()
	f.votes(types.PhasePrepare, 0, 1, d, 1, 2)
	f.tick(f.cfg.ViewChangeTicks)
	vcs := []*types.PBFTViewChange{f.viewChange(1, 1, nil), f.viewChange(2, 1, nil, f.prepared(0, 1, d)), f.viewChange(0, 1, nil)}
	wrong := f.newView(1, vcs, []Order{{1, NullBlock(1).ID()}})
	require.ErrorIs(t, f.step(wrong), ErrBadNewView)
	usurper := f.newView(1, vcs, []Order{{1, d}})
	usurper.Primary = 2
	require.ErrorIs(t, f.step(usurper), ErrNotPrimary)
	require.True(t, f.e.Status().ViewChanging)
	require.NoError(t, f.step(f.newView(1, vcs, []Order{{1, d}})))
	require.False(t, f.e.Status().ViewChanging)
	prepares := votesOf(f.sent(), types.PhasePrepare)
	require.NotEmpty(t, prepares)
	require.Equal(t, uint64(1), prepares[len(prepares)-1].View)
	require.Equal(t, d, prepares[len(prepares)-1].Digest, "the prepared request, same number, new view")
}

// §4.5.2: a replica joins a view change on f+1 view-changes for higher
// views, to the smallest view among the f+1 highest.
func TestJoinOnFPlusOneViewChangesForHigherViews(t *testing.T) {
	f := newFixture(t, 4, 3)
	require.NoError(t, f.step(f.viewChange(1, 5, nil)))
	require.False(t, f.e.Status().ViewChanging, "one is not enough: it may be faulty")
	require.NoError(t, f.step(f.viewChange(2, 3, nil)))
	require.True(t, f.e.Status().ViewChanging)
	require.Equal(t, uint64(3), f.e.Status().View)
	require.Equal(t, uint64(0), joinView(3, []uint64{5, 2}, 1))
	require.Equal(t, uint64(4), joinView(3, []uint64{9, 4, 6}, 2))
}

// §4.5.2: a view change escalates only once 2f+1 replicas joined it, and
// each successive one waits twice as long.
func TestViewChangeTimerStartsOnQuorumAndDoubles(t *testing.T) {
	require.Equal(t, []int{20, 40, 80, 80}, []int{
		viewChangeTimeout(20, 80, 0), viewChangeTimeout(20, 80, 1), viewChangeTimeout(20, 80, 2), viewChangeTimeout(20, 80, 5)})
	f := newFixture(t, 4, 3)
	f.tick(f.cfg.ViewChangeTicks)
	require.Equal(t, uint64(1), f.e.Status().View)
	f.tick(10 * f.cfg.ViewChangeTicks)
	require.Equal(t, uint64(1), f.e.Status().View, "alone, it does not race ahead")
	require.NoError(t, f.step(f.viewChange(0, 1, nil)))
	require.NoError(t, f.step(f.viewChange(2, 1, nil)))
	f.tick(2*f.cfg.ViewChangeTicks - 1)
	require.Equal(t, uint64(1), f.e.Status().View, "the second view change waits 2T")
	f.tick(1)
	require.Equal(t, uint64(2), f.e.Status().View)
}

// Durability (types.Ready contract): after a restart the replica still
// refuses a pre-prepare conflicting with the one it accepted, and resends
// the same prepare.
func TestRestartedReplicaNeverPreparesAConflictingDigest(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	require.NoError(t, f.step(pp))
	f.sent()
	f.restart()
	require.ErrorIs(t, f.step(f.prePrepare(0, 1, "b")), ErrConflict)
	f.tick(f.cfg.ResendTicks)
	prepares := votesOf(f.sent(), types.PhasePrepare)
	require.Len(t, prepares, 1)
	require.Equal(t, pp.Block.ID(), prepares[0].Digest)
}

// The oracle (CheckReady) refuses a view-change that leaves out a stored
// prepared certificate, and a safety state that loses one: P is what
// carries a prepared request into the next view.
func TestOracleCatchesAViewChangeWithoutItsPreparedSet(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	require.NoError(t, f.step(pp))
	f.votes(types.PhasePrepare, 0, 1, pp.Block.ID(), 1, 2)
	durable := f.safety
	f.sent()
	f.tick(f.cfg.ViewChangeTicks)
	vc := ofType[*types.PBFTViewChange](f.sent())[0]
	v := testVerifier(f)
	rd := types.Ready{SafetyState: f.safety, Messages: []types.Message{{From: 3, Broadcast: true, Payload: vc}}}
	require.NoError(t, CheckReady(v, durable, &rd), "the honest view-change passes")

	emptyP := f.viewChange(3, vc.View, nil)
	st := mustSafety(t, f.safety)
	st.ViewChange = emptyP // stored and sent alike, but without P
	withoutP, err := st.Marshal()
	require.NoError(t, err)
	rd = types.Ready{SafetyState: withoutP, Messages: []types.Message{{From: 3, Broadcast: true, Payload: emptyP}}}
	require.ErrorContains(t, CheckReady(v, f.safety, &rd), "leaves out the prepared certificate")

	st = mustSafety(t, f.safety)
	st.Slots[0].Prepared = nil
	lost, err := st.Marshal()
	require.NoError(t, err)
	require.ErrorContains(t, CheckReady(v, f.safety, &types.Ready{SafetyState: lost}), "was lost")
}

// A replica keeps the block of its prepared certificate across a restart
// even after a later view gave the number another block: a later new-view
// may re-propose the prepared one, and peers fetch it from here.
func TestRestartKeepsThePreparedBlockForLaterViews(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	require.NoError(t, f.step(pp))
	f.votes(types.PhasePrepare, 0, 1, pp.Block.ID(), 1, 2) // prepared in view 0
	f.tick(f.cfg.ViewChangeTicks)
	vcs := []*types.PBFTViewChange{f.viewChange(0, 1, nil), f.viewChange(1, 1, nil), f.viewChange(2, 1, nil)}
	require.NoError(t, f.step(f.newView(1, vcs, nil)), "an O without number 1")
	require.NoError(t, f.step(f.prePrepare(1, 1, "b")), "view 1 assigns another block to 1")
	f.restart()
	require.Equal(t, pp.Block.ID(), f.e.blocks[pp.Block.ID()].ID(), "the prepared block, restored")
	require.Equal(t, pp.Block.ID(), f.blocks[pp.Block.ID()].ID(), "and still stored, for the block server")
}

// A pre-prepare above the replica's payload limits is refused before its
// block is stored; a primary handed an oversized payload asks again.
func TestPayloadLimitsOnBothSides(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	for range f.cfg.MaxTxs {
		pp.Block.Txs = append(pp.Block.Txs, types.Tx("x"))
	}
	pp.Block.ForgetID() // changed after signing: hash it again
	pp.Signature = f.sign(0, types.PrePrepareSignBytes(testChain, 0, 1, pp.Block.ID()))
	require.ErrorIs(t, f.step(pp), ErrTooLarge)
	require.Empty(t, f.blocks)

	var requests []*types.PayloadRequest
	p := newFixtureWith(t, 4, 0, func(r *types.PayloadRequest) { requests = append(requests, r) }) // the primary of view 0
	require.Len(t, requests, 1)
	big := make([]types.Tx, p.cfg.MaxTxs+1)
	for i := range big {
		big[i] = types.Tx("y")
	}
	require.ErrorIs(t, p.e.Propose(types.ProposalPayload{View: 0, Txs: big}), ErrTooLarge)
	require.NotNil(t, p.e.Ready().PayloadRequest, "the primary asks again instead of stalling its view")
}

// The new primary's first pre-prepare (gossiped) can overtake its
// new-view (sent directly). It is held, unanswered, until the new-view
// arrives, then accepted through the normal checks: dropped, it waited
// for a resend.
func TestPrePrepareOfTheNextViewWaitsForItsNewView(t *testing.T) {
	f := newFixture(t, 4, 3)
	f.tick(f.cfg.ViewChangeTicks)
	require.True(t, f.e.Status().ViewChanging)
	f.sent()
	early := f.prePrepare(1, 1, "a")
	require.NoError(t, f.step(early), "held, not refused")
	require.Empty(t, votesOf(f.sent(), types.PhasePrepare), "no prepare before the new-view")
	vcs := []*types.PBFTViewChange{f.viewChange(1, 1, nil), f.viewChange(2, 1, nil), f.viewChange(0, 1, nil)}
	require.NoError(t, f.step(f.newView(1, vcs, nil)))
	prepares := votesOf(f.sent(), types.PhasePrepare)
	require.Len(t, prepares, 1, "the held pre-prepare, replayed")
	require.Equal(t, early.Block.ID(), prepares[0].Digest)
	require.Equal(t, uint64(1), prepares[0].View)
}
