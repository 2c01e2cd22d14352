package pbft

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// fixture is one replica under test, driven by hand: the test plays every
// other replica, signing with the simulator's hash scheme.
type fixture struct {
	t      *testing.T
	n      int
	id     types.ValidatorIndex
	scheme *qc.HashScheme
	cfg    Config
	e      *Engine
	// What the replica did, accumulated over every Ready since the last
	// take().
	msgs      []types.Message
	committed []types.CommittedBlock
	evidence  []*types.DoubleSign
	safety    []byte // the last durable safety state
	blocks    map[types.BlockID]*types.Block
	// onPayload, if set, answers payload requests instead of the default
	// one-transaction payload.
	onPayload func(*types.PayloadRequest)
}

const testChain = "pbft-test"

// newFixture builds replica id of n with K = 4, L = 8.
func newFixture(t *testing.T, n int, id types.ValidatorIndex) *fixture {
	t.Helper()
	return newFixtureWith(t, n, id, nil)
}

// newFixtureWith is newFixture with payload requests answered by onPayload.
func newFixtureWith(t *testing.T, n int, id types.ValidatorIndex, onPayload func(*types.PayloadRequest)) *fixture {
	t.Helper()
	scheme := qc.NewHashScheme(n, 7)
	cfg := DefaultConfig(id, n, testChain, scheme.Signer(id), scheme)
	cfg.CheckpointInterval, cfg.WindowSize, cfg.MaxInFlight = 4, 8, 8
	f := &fixture{t: t, n: n, id: id, scheme: scheme, cfg: cfg, blocks: make(map[types.BlockID]*types.Block), onPayload: onPayload}
	f.restart()
	return f
}

// restart rebuilds the replica from what it made durable.
func (f *fixture) restart() {
	f.t.Helper()
	e, err := New(f.cfg, Restored{SafetyState: f.safety, Blocks: f.blocks, Committed: f.committed})
	require.NoError(f.t, err)
	f.e = e
	f.drain()
}

// drain carries out every Ready: durable state first, then the rest.
func (f *fixture) drain() {
	for f.e.HasReady() {
		rd := f.e.Ready()
		if rd.SafetyState != nil {
			f.safety = rd.SafetyState
		}
		for _, b := range rd.Blocks {
			f.blocks[b.ID()] = b
		}
		f.msgs = append(f.msgs, rd.Messages...)
		f.committed = append(f.committed, rd.Committed...)
		f.evidence = append(f.evidence, rd.Evidence...)
		f.e.Advance(rd)
		if rd.PayloadRequest != nil && f.onPayload != nil {
			f.onPayload(rd.PayloadRequest)
		} else if rd.PayloadRequest != nil {
			require.NoError(f.t, f.e.Propose(types.ProposalPayload{View: rd.PayloadRequest.View, Txs: []types.Tx{types.Tx(fmt.Sprintf("tx-%d", rd.PayloadRequest.Height))}}))
		}
	}
}

// step delivers p from its signer and carries out the Ready.
func (f *fixture) step(p types.Payload) error {
	err := f.e.Step(types.Message{From: p.Signer(), Payload: p})
	f.drain()
	return err
}

// sent returns and forgets what the replica sent.
func (f *fixture) sent() []types.Payload {
	var out []types.Payload
	for _, m := range f.msgs {
		out = append(out, m.Payload)
	}
	f.msgs = nil
	return out
}

func (f *fixture) sign(i types.ValidatorIndex, msg []byte) []byte {
	return f.scheme.Signer(i).Sign(msg)
}

func block(view, seq uint64, primary types.ValidatorIndex, tx string) *types.Block {
	return &types.Block{Height: seq, View: view, Proposer: primary, Txs: []types.Tx{types.Tx(tx)}}
}

// prePrepare is view's primary's signed pre-prepare of a block at seq.
func (f *fixture) prePrepare(view, seq uint64, tx string) *types.PBFTPrePrepare {
	p := Primary(view, f.n)
	b := block(view, seq, p, tx)
	return &types.PBFTPrePrepare{View: view, Seq: seq, Block: b, Primary: p,
		Signature: f.sign(p, types.PrePrepareSignBytes(testChain, view, seq, b.ID()))}
}

func (f *fixture) vote(phase types.PBFTPhase, view, seq uint64, d types.BlockID, from types.ValidatorIndex) *types.PBFTVote {
	return &types.PBFTVote{Phase: phase, View: view, Seq: seq, Digest: d, Replica: from,
		Signature: f.sign(from, types.PBFTVoteSignBytes(testChain, phase, view, seq, d))}
}

// votes delivers phase votes for (view, seq, d) from each of from.
func (f *fixture) votes(phase types.PBFTPhase, view, seq uint64, d types.BlockID, from ...types.ValidatorIndex) {
	f.t.Helper()
	for _, i := range from {
		require.NoError(f.t, f.step(f.vote(phase, view, seq, d, i)))
	}
}

// commitSeq drives seq through pre-prepare, prepares and commits in view
// 0 with replicas 1 and 2 (and 3) agreeing, as seen by replica f.id.
func (f *fixture) commitSeq(seq uint64) types.BlockID {
	f.t.Helper()
	pp := f.prePrepare(0, seq, fmt.Sprintf("tx-%d", seq))
	require.NoError(f.t, f.step(pp))
	d := pp.Block.ID()
	f.votes(types.PhasePrepare, 0, seq, d, f.others(1, 2, 3)...)
	f.votes(types.PhaseCommit, 0, seq, d, f.others(0, 1, 2, 3)...)
	return d
}

// others filters the replica under test out of ids.
func (f *fixture) others(ids ...types.ValidatorIndex) []types.ValidatorIndex {
	var out []types.ValidatorIndex
	for _, i := range ids {
		if i != f.id {
			out = append(out, i)
		}
	}
	return out
}

// ofType filters payloads by message type (and phase, for votes).
func ofType[T types.Payload](ps []types.Payload) []T {
	var out []T
	for _, p := range ps {
		if t, ok := p.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func votesOf(ps []types.Payload, phase types.PBFTPhase) []*types.PBFTVote {
	var out []*types.PBFTVote
	for _, v := range ofType[*types.PBFTVote](ps) {
		if v.Phase == phase {
			out = append(out, v)
		}
	}
	return out
}

func testVerifier(f *fixture) *qc.Verifier {
	return qc.NewSchemeVerifier(testChain, f.n, quorum(f.n), f.scheme)
}

func mustSafety(t *testing.T, data []byte) *types.PBFTSafety {
	t.Helper()
	st, err := decodeSafety(data)
	require.NoError(t, err)
	return st
}
