package typestest

import (
	"fmt"

	"bytes"
	"encoding/json"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
)

// NamedMessage is a sample message with a name for corpus files and test
// output.
type NamedMessage struct {
	Name    string
	Message types.Message
}

// SampleMessages is one well-formed, correctly signed message of every type
// and every PBFT phase, from the 4-validator fixture with seed 1. Fuzz
// targets seed from it and internal/tools/fuzzcorpus writes it to disk.
func SampleMessages() []NamedMessage {
	fx := Validators(4, 1)
	parent := Block(1, 2, 16)
	parent.Proposer = 1
	block := Block(3, 4, 24)
	block.Proposer = 3
	block.ParentID = parent.ID()
	block.ParentAppHash = bytes.Repeat([]byte{0xab}, 32)
	block.Justify = fx.QC(1, parent.ID(), 0, 1, 2)
	id := block.ID()
	// A PBFT block has no justify QC.
	pbftBlock := Block(3, 4, 24)
	pbftBlock.Proposer = 3
	pbftID := pbftBlock.ID()
	tc := fx.TC(2, []int{0, 1, 3}, []uint64{1, 0, 1})
	sign := func(i int, msg []byte) []byte { return crypto.Sign(fx.Keys[i], msg).Bytes() }
	pbftVote := func(phase types.PBFTPhase, view, seq uint64, replica int) types.Message {
		v := &types.PBFTVote{Phase: phase, View: view, Seq: seq, Digest: pbftID, Replica: types.ValidatorIndex(replica)}
		v.Signature = sign(replica, types.PBFTVoteSignBytes(ChainID, phase, view, seq, pbftID))
		return types.Message{From: v.Replica, Broadcast: true, Payload: v}
	}
	viewChange, newView := pbftViewChangeSamples(fx, pbftID)
	return []NamedMessage{
		{"proposal-with-tc", types.Message{From: 3, Broadcast: true, Payload: &types.Proposal{Block: block, Tc: tc, Signature: sign(3, types.ProposalSignBytes(ChainID, 3, id))}}},
		{"proposal-first-block", types.Message{From: 1, Broadcast: true, Payload: &types.Proposal{Block: parent, Signature: sign(1, types.ProposalSignBytes(ChainID, 1, parent.ID()))}}},
		{"vote", types.Message{From: 2, To: 0, Payload: &types.Vote{View: 3, BlockID: id, Voter: 2, Signature: sign(2, types.VoteSignBytes(ChainID, 3, id))}}},
		{"timeout-with-high-qc", types.Message{From: 0, Broadcast: true, Payload: &types.Timeout{View: 4, Sender: 0, HighQc: block.Justify, Signature: sign(0, types.TimeoutSignBytes(ChainID, 4, 1))}}},
		{"timeout-genesis", types.Message{From: 1, Broadcast: true, Payload: &types.Timeout{View: 1, Sender: 1, Signature: sign(1, types.TimeoutSignBytes(ChainID, 1, 0))}}},
		{"pbft-preprepare", types.Message{From: 3, Broadcast: true, Payload: &types.PBFTPrePrepare{View: 3, Seq: 3, Block: pbftBlock, Primary: 3, Signature: sign(3, types.PrePrepareSignBytes(ChainID, 3, 3, pbftID))}}},
		{"pbft-prepare", pbftVote(types.PhasePrepare, 3, 3, 0)},
		{"pbft-commit", pbftVote(types.PhaseCommit, 3, 3, 1)},
		{"pbft-checkpoint", pbftVote(types.PhaseCheckpoint, 0, 3, 2)},
		{"pbft-view-change", types.Message{From: 2, Broadcast: true, Payload: viewChange}},
		{"pbft-new-view", types.Message{From: 0, Broadcast: true, Payload: newView}},
		{"fetch-by-height", types.Message{From: 1, To: 2, Payload: &types.BlockRequest{Sender: 1, FromHeight: 3, Count: 8}}},
		{"pbft-committed-block", types.Message{From: 2, To: 1, Payload: &types.BlockResponse{Sender: 2, Block: pbftBlock,
			Proof: mustMarshal(&types.PBFTCommitProof{Commit: fx.PBFTCert(types.PhaseCommit, 3, 3, pbftID, 0, 1, 2), HistoryDigest: make([]byte, 32)})}}},
		// A raft message's bytes are an encoded raftpb.Message, which only
		// the Raft engine decodes: MsgHeartbeat from node 2 to node 1, term 3.
		{"raft-message", types.Message{From: 1, To: 0, Payload: &types.RaftMessage{Sender: 1, Message: []byte{0x08, 0x08, 0x10, 0x01, 0x18, 0x02, 0x20, 0x03}}}},
	}
}

// pbftViewChangeSamples builds a signed view-change for view 4 by replica 2
// (checkpoint proof at 2, one prepared certificate for seq 3 in view 3)
// and the new-view for view 4 that carries it with O = {3: pbftID}.
func pbftViewChangeSamples(fx *Fixture, pbftID types.BlockID) (*types.PBFTViewChange, *types.PBFTNewView) {
	sign := func(i int, msg []byte) []byte { return crypto.Sign(fx.Keys[i], msg).Bytes() }
	cp := fx.PBFTCert(types.PhaseCheckpoint, 0, 2, types.BlockID(crypto.Sum256([]byte("history-2"))), 0, 1, 2)
	prepared := &types.PBFTPrepared{View: 3, Seq: 3, Digest: pbftID,
		PrePrepareSignature: sign(3, types.PrePrepareSignBytes(ChainID, 3, 3, pbftID)),
		Prepares:            fx.PBFTCert(types.PhasePrepare, 3, 3, pbftID, 0, 1)}
	vc := &types.PBFTViewChange{View: 4, Replica: 2, Stable: cp, Prepared: []*types.PBFTPrepared{prepared}}
	h, _ := vc.BodyHash()
	vc.Signature = sign(2, types.ViewChangeSignBytes(ChainID, 4, h))
	nv := &types.PBFTNewView{View: 4, Primary: 0, ViewChanges: []*types.PBFTViewChange{vc},
		PrePrepares: []*types.PBFTOrder{{Seq: 3, Digest: pbftID, Signature: sign(0, types.PrePrepareSignBytes(ChainID, 4, 3, pbftID))}}}
	h, _ = nv.BodyHash()
	nv.Signature = sign(0, types.NewViewSignBytes(ChainID, 4, h))
	return vc, nv
}

// SampleBlockID is the ID of a small block at height view.
func SampleBlockID(view uint64) types.BlockID { return Block(view, 3, 32).ID() }

// HonestQCs are valid QCs of the fixture; certificate fuzz targets check
// that whatever verifies is one of them.
func (f *Fixture) HonestQCs() []*types.QuorumCert {
	return []*types.QuorumCert{
		f.QC(1, SampleBlockID(1), 0, 1, 2),
		f.QC(2, SampleBlockID(2), 1, 2, 3),
		f.QC(3, SampleBlockID(3), 0, 1, 2, 3),
		f.QC(7, SampleBlockID(7), 0, 2, 3),
	}
}

// HonestTCs are valid TCs of the fixture.
func (f *Fixture) HonestTCs() []*types.TimeoutCert {
	return []*types.TimeoutCert{
		f.TC(5, []int{0, 1, 2}, []uint64{4, 4, 4}),
		f.TC(6, []int{0, 1, 2, 3}, []uint64{5, 3, 5, 0}),
		f.TC(9, []int{1, 2, 3}, []uint64{0, 0, 8}),
	}
}

// HonestPBFTCerts are valid PBFT certificates of the fixture.
func (f *Fixture) HonestPBFTCerts() []*types.PBFTCert {
	return []*types.PBFTCert{
		f.PBFTCert(types.PhasePrepare, 1, 1, SampleBlockID(1), 0, 1, 2),
		f.PBFTCert(types.PhaseCommit, 1, 1, SampleBlockID(1), 3, 2, 1, 0),
		f.PBFTCert(types.PhasePrepare, 2, 2, SampleBlockID(2), 1, 2, 3),
		f.PBFTCert(types.PhaseCheckpoint, 0, 10, types.BlockID(crypto.Sum256([]byte("state-10"))), 0, 1, 2, 3),
	}
}

// SampleGenesisJSON is a valid genesis file for the n-validator fixture
// (seed 1); validator 0 also has a name, peer ID and address.
func SampleGenesisJSON(n int, appState string) []byte {
	fx := Validators(n, 1)
	g := types.Genesis{ChainID: ChainID}
	if appState != "" {
		g.AppState = json.RawMessage(appState)
	}
	for i, sk := range fx.Keys {
		gv := types.GenesisValidatorFor(sk, "", "", "")
		if i == 0 {
			gv = types.GenesisValidatorFor(sk, "v0", "12D3KooWfuzz", "/ip4/127.0.0.1/tcp/26656")
		}
		g.Validators = append(g.Validators, gv)
	}
	data, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		panic(err)
	}
	return data
}

// mustMarshal encodes a fixture's message; fixtures are always encodable.
func mustMarshal(m interface{ Marshal() ([]byte, error) }) []byte {
	data, err := m.Marshal()
	if err != nil {
		panic(fmt.Sprintf("typestest: %v", err))
	}
	return data
}
