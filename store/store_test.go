package store

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
)

func TestPersistRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	c := chain(4)
	f2 := fork(2, 1)

	// A Ready that votes: safety state and blocks, nothing committed.
	require.NoError(t, s.Persist(Batch{SafetyState: []byte("safety-1"), Blocks: append(blocksOf(c), f2)}))
	require.Equal(t, uint64(0), s.Height())
	// A Ready that commits heights 1 and 2.
	require.NoError(t, s.Persist(Batch{SafetyState: []byte("safety-2"), Committed: c[:2]}))
	// A Ready with no safety state leaves it unchanged.
	require.NoError(t, s.Persist(Batch{Blocks: []*types.Block{c[3].Block}}))

	want := Restored{
		SafetyState: []byte("safety-2"),
		Pending:     map[types.BlockID]*types.Block{c[2].ID: c[2].Block, c[3].ID: c[3].Block},
		Committed:   c[:2],
		Height:      2,
	}
	check := func(s *Store) {
		t.Helper()
		got, err := s.Restore(100)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, uint64(2), s.Height())

		for _, cb := range c[:2] {
			got, err := s.CommittedBlock(cb.Block.Height)
			require.NoError(t, err)
			require.Equal(t, cb, got)
			id, err := s.CommittedID(cb.Block.Height)
			require.NoError(t, err)
			require.Equal(t, cb.ID, id)
		}
		for _, cb := range c { // committed and pending
			b, err := s.BlockByID(cb.ID)
			require.NoError(t, err)
			require.Equal(t, cb.Block, b)
		}
		_, err = s.BlockByID(f2.ID())
		require.ErrorIs(t, err, ErrNotFound, "a fork at a committed height is garbage")
	}
	check(s)
	require.NoError(t, s.Close())

	s = openStore(t, dir)
	defer s.Close()
	check(s)
}

func TestEmptyStore(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()

	got, err := s.Restore(10)
	require.NoError(t, err)
	require.Equal(t, Restored{Pending: map[types.BlockID]*types.Block{}}, got)
	state, err := s.SafetyState()
	require.NoError(t, err)
	require.Nil(t, state)

	_, err = s.CommittedBlock(0)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.CommittedBlock(1)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.CommittedID(1)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.BlockByID(chain(1)[0].ID)
	require.ErrorIs(t, err, ErrNotFound)

	// An empty batch writes nothing.
	before := dump(t, s)
	require.NoError(t, s.Persist(Batch{}))
	require.Equal(t, before, dump(t, s))
}

func TestEmptySafetyStateIsStored(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	require.NoError(t, s.Persist(Batch{SafetyState: []byte("x")}))
	require.NoError(t, s.Persist(Batch{SafetyState: []byte{}}))
	state, err := s.SafetyState()
	require.NoError(t, err)
	require.NotNil(t, state, "an empty state replaces the old one; it is not 'none'")
	require.Empty(t, state)
}

func TestPersistRejectsGapsAndWritesNothing(t *testing.T) {
	c := chain(5)
	wrongID := c[2]
	wrongID.ID = c[3].ID
	noBlock := types.CommittedBlock{ID: c[2].ID}
	for _, tc := range []struct {
		name      string
		committed []types.CommittedBlock
	}{
		{"gap", []types.CommittedBlock{c[3]}},
		{"replay of the tip", []types.CommittedBlock{c[1]}},
		{"out of order", []types.CommittedBlock{c[3], c[2]}},
		{"duplicate", []types.CommittedBlock{c[2], c[2]}},
		{"gap inside the batch", []types.CommittedBlock{c[2], c[4]}},
		{"ID not the block's", []types.CommittedBlock{wrongID}},
		{"no block", []types.CommittedBlock{noBlock}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			defer s.Close()
			require.NoError(t, s.Persist(Batch{SafetyState: []byte("before"), Blocks: []*types.Block{c[4].Block}, Committed: c[:2]}))
			before := dump(t, s)

			err := s.Persist(Batch{SafetyState: []byte("after"), Blocks: []*types.Block{fork(6, 1)}, Committed: tc.committed})
			require.Error(t, err)
			require.Equal(t, before, dump(t, s), "a rejected batch must write nothing")
			require.Equal(t, uint64(2), s.Height())

			// The store still accepts the right next block.
			require.NoError(t, s.Persist(Batch{Committed: c[2:3]}))
			require.Equal(t, uint64(3), s.Height())
		})
	}
}

func TestPersistRejectsFirstBlockAboveOne(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	before := dump(t, s)
	require.Error(t, s.Persist(Batch{SafetyState: []byte("x"), Committed: chain(2)[1:]}))
	require.Equal(t, before, dump(t, s))
	require.Equal(t, uint64(0), s.Height())
}

func TestCommitDropsPendingAtOrBelowHeight(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	c := chain(6)
	forks := []*types.Block{fork(2, 1), fork(2, 2), fork(3, 1), fork(5, 1)}
	require.NoError(t, s.Persist(Batch{Blocks: append(blocksOf(c), forks...)}))
	require.Len(t, pendingKeys(t, s), 10)

	require.NoError(t, s.Persist(Batch{Committed: c[:3]}))
	// Heights 4..6 of the chain and the fork at 5 are kept; everything at
	// or below 3 (committed or not) is gone from the pending tables.
	require.ElementsMatch(t, []string{
		pendingKeyOf(c[3].Block), pendingKeyOf(c[4].Block), pendingKeyOf(c[5].Block), pendingKeyOf(forks[3]),
	}, pendingKeys(t, s))
	for _, f := range forks[:3] {
		_, err := s.BlockByID(f.ID())
		require.ErrorIs(t, err, ErrNotFound)
	}
	b, err := s.BlockByID(forks[3].ID())
	require.NoError(t, err)
	require.Equal(t, forks[3], b)

	// Blocks at or below the committed height, alone or beside the commit
	// that reaches them, are not stored at all.
	require.NoError(t, s.Persist(Batch{Blocks: []*types.Block{fork(3, 2), fork(4, 2)}, Committed: c[3:4]}))
	require.ElementsMatch(t, []string{
		pendingKeyOf(c[4].Block), pendingKeyOf(c[5].Block), pendingKeyOf(forks[3]),
	}, pendingKeys(t, s))

	r, err := s.Restore(1)
	require.NoError(t, err)
	require.Len(t, r.Pending, 3)
	require.Equal(t, c[3:4], r.Committed)
}

func TestRestoreRetainsTheTail(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	c := chain(10)
	for _, part := range [][]types.CommittedBlock{c[:1], c[1:4], c[4:5], c[5:]} {
		require.NoError(t, s.Persist(Batch{Committed: part}))
	}
	for _, retain := range []uint64{0, 1, 3, 9, 10, 11, 1 << 40} {
		r, err := s.Restore(retain)
		require.NoError(t, err)
		require.Equal(t, uint64(10), r.Height)
		n := min(int(retain), 10)
		require.Len(t, r.Committed, n, "retain %d", retain)
		if n > 0 {
			require.Equal(t, c[10-n:], r.Committed, "retain %d", retain)
		}
	}
}

// TestConcurrentReads runs the HTTP API's reads beside the Ready loop's
// writes (under -race): a reader that sees height h must be able to read
// every block up to h, and never a half-written batch.
func TestConcurrentReads(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	c := chain(60)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				h := s.Height()
				if h == 0 {
					continue
				}
				cb, err := s.CommittedBlock(h)
				if !assert.NoError(t, err) || !assert.Equal(t, c[h-1].ID, cb.ID) {
					return
				}
				// The next block moves from pending to committed in one batch:
				// it is found in one table or the other, whenever we look.
				if h < uint64(len(c)) {
					_, err := s.BlockByID(c[h].ID)
					if !assert.NoError(t, err) {
						return
					}
				}
			}
		})
	}
	require.NoError(t, s.Persist(Batch{Blocks: blocksOf(c)}))
	for i := range c {
		require.NoError(t, s.Persist(Batch{SafetyState: []byte{byte(i)}, Committed: c[i : i+1]}))
	}
	close(done)
	wg.Wait()
}

// A committed block must be the block its ID names, whether or not a
// pending block was stored under that ID.
func TestPersistRefusesMisnamedCommittedBlock(t *testing.T) {
	c := chain(2)
	other := fork(1, 1)
	cases := map[string][]*types.Block{
		"never pending":              nil,
		"another block pending":      {c[0].Block},
		"the named block not stored": {other},
	}
	for name, pending := range cases {
		t.Run(name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			defer s.Close()
			if pending != nil {
				require.NoError(t, s.Persist(Batch{Blocks: pending}))
			}
			misnamed := types.CommittedBlock{ID: c[0].ID, Block: other}
			before := dump(t, s)
			err := s.Persist(Batch{Committed: []types.CommittedBlock{misnamed}})
			require.ErrorContains(t, err, "is named")
			require.Equal(t, before, dump(t, s), "a refused batch writes nothing")
		})
	}
	t.Run("pending then committed under its own name", func(t *testing.T) {
		s := openStore(t, t.TempDir())
		defer s.Close()
		require.NoError(t, s.Persist(Batch{Blocks: blocksOf(c)}))
		require.NoError(t, s.Persist(Batch{Committed: c}))
		got, err := s.CommittedBlock(2)
		require.NoError(t, err)
		require.Equal(t, c[1], got)
	})
}

// The last recentCommitted committed blocks are served from memory and
// older ones from disk; both read back as persisted, and memory stays
// bounded.
func TestRecentCommittedBlocksFromMemoryOlderFromDisk(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	c := chain(recentCommitted + 6)
	for _, cb := range c {
		require.NoError(t, s.Persist(Batch{Committed: []types.CommittedBlock{cb}}))
	}
	require.Len(t, s.recent, recentCommitted)
	for _, cb := range c {
		got, err := s.CommittedBlock(cb.Block.Height)
		require.NoError(t, err)
		require.Equal(t, cb, got)
	}
	_, err := s.CommittedBlock(uint64(len(c)) + 1)
	require.ErrorIs(t, err, ErrNotFound)
}
