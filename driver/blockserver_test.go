package driver

import (
	"testing"
	"time"

	"github.com/bftkit/bftkit/types"
	"github.com/stretchr/testify/require"
)

// chainSource is a committed chain of blocks, as a store holds it.
type chainSource struct{ chain []types.CommittedBlock }

func newChainSource(n int) *chainSource {
	s := &chainSource{}
	var parent types.BlockID
	for h := 1; h <= n; h++ {
		b := &types.Block{Height: uint64(h), ParentID: parent, Txs: []types.Tx{types.Tx("k=v")}}
		s.chain = append(s.chain, types.CommittedBlock{ID: b.ID(), Block: b, Proof: []byte{byte(h)}})
		parent = b.ID()
	}
	return s
}

func (s *chainSource) BlockByID(id types.BlockID) (*types.Block, bool, error) {
	for _, cb := range s.chain {
		if cb.ID == id {
			return cb.Block, true, nil
		}
	}
	return nil, false, nil
}

func (s *chainSource) CommittedBlock(h uint64) (types.CommittedBlock, bool, error) {
	if h < 1 || h > uint64(len(s.chain)) {
		return types.CommittedBlock{}, false, nil
	}
	return s.chain[h-1], true, nil
}

func newTestServer(t *testing.T, src BlockSource, blocksPerSecond int) (*BlockServer, *fixedClock) {
	t.Helper()
	clock := &fixedClock{now: time.Unix(1000, 0)}
	s, err := NewBlockServer(BlockServerConfig{Self: 0, N: 4, Source: src, Clock: clock,
		BlocksPerSecond: blocksPerSecond, BytesPerSecond: 1 << 20})
	require.NoError(t, err)
	return s, clock
}

func serve(t *testing.T, s *BlockServer, r *types.BlockRequest) ([]*types.BlockResponse, error) {
	t.Helper()
	var out []*types.BlockResponse
	if err := s.Admit(r); err != nil {
		return nil, err
	}
	err := s.Serve(r, func(m types.Message) {
		require.Equal(t, r.Sender, m.To)
		out = append(out, m.Payload.(*types.BlockResponse))
	})
	return out, err
}

// By ID: the block and its ancestors, newest first, stopping at genesis.
func TestBlockServerAnswersByIDWithAncestors(t *testing.T) {
	src := newChainSource(5)
	s, _ := newTestServer(t, src, 100)
	got, err := serve(t, s, &types.BlockRequest{Sender: 2, BlockID: src.chain[3].ID, Ancestors: 10})
	require.NoError(t, err)
	require.Len(t, got, 4, "heights 4, 3, 2, 1, then genesis")
	for k, r := range got {
		require.Equal(t, uint64(4-k), r.Block.Height)
		require.Empty(t, r.Proof, "a block by ID goes without a proof")
	}
	got, err = serve(t, s, &types.BlockRequest{Sender: 2, BlockID: types.BlockID{9}, Ancestors: 1})
	require.NoError(t, err)
	require.Empty(t, got, "an unknown block: nothing")
}

// By height: committed blocks upward with their stored proofs, up to what
// the store holds.
func TestBlockServerAnswersByHeightWithProofs(t *testing.T) {
	s, _ := newTestServer(t, newChainSource(5), 100)
	got, err := serve(t, s, &types.BlockRequest{Sender: 1, FromHeight: 3, Count: 8})
	require.NoError(t, err)
	require.Len(t, got, 3)
	for k, r := range got {
		require.Equal(t, uint64(3+k), r.Block.Height)
		require.Equal(t, []byte{byte(3 + k)}, r.Proof)
	}
}

// Each peer has its own budget, refilled with time.
func TestBlockServerBudgetsEachPeer(t *testing.T) {
	s, clock := newTestServer(t, newChainSource(10), 4)
	got, err := serve(t, s, &types.BlockRequest{Sender: 1, FromHeight: 1, Count: 10})
	require.ErrorIs(t, err, ErrBudget)
	require.Len(t, got, 4, "four blocks a second")
	_, err = serve(t, s, &types.BlockRequest{Sender: 1, FromHeight: 5, Count: 1})
	require.ErrorIs(t, err, ErrBudget, "refused at admission")
	got, err = serve(t, s, &types.BlockRequest{Sender: 2, FromHeight: 1, Count: 2})
	require.NoError(t, err)
	require.Len(t, got, 2, "another peer has its own budget")
	clock.now = clock.now.Add(time.Second)
	_, err = serve(t, s, &types.BlockRequest{Sender: 1, FromHeight: 5, Count: 1})
	require.NoError(t, err)
	_, err = serve(t, s, &types.BlockRequest{Sender: 9, FromHeight: 1, Count: 1})
	require.ErrorIs(t, err, ErrBudget, "not a validator")
}
