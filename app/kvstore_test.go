package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/syndtr/goleveldb/leveldb"
)

var ctx = context.Background()

// openStore opens a store in dir and closes it when the test ends.
func openStore(t testing.TB, dir string) *KVStore {
	t.Helper()
	s, err := NewKVStore(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a store in a fresh directory.
func newStore(t testing.TB) *KVStore {
	t.Helper()
	return openStore(t, t.TempDir())
}

// txs turns strings into transactions.
func txs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// finalize executes a block without committing it.
func finalize(t testing.TB, s *KVStore, height uint64, block ...string) FinalizeBlockResponse {
	t.Helper()
	resp, err := s.FinalizeBlock(ctx, FinalizeBlockRequest{Height: height, Txs: txs(block...)})
	require.NoError(t, err)
	require.Len(t, resp.TxResults, len(block))
	return resp
}

// apply executes and commits a block and returns its app hash.
func apply(t testing.TB, s *KVStore, height uint64, block ...string) []byte {
	t.Helper()
	resp := finalize(t, s, height, block...)
	_, err := s.Commit(ctx)
	require.NoError(t, err)
	return resp.AppHash
}

// info returns the store's Info.
func info(t testing.TB, s *KVStore) InfoResponse {
	t.Helper()
	resp, err := s.Info(ctx, InfoRequest{})
	require.NoError(t, err)
	return resp
}

// query reads key on the default path.
func query(t testing.TB, s *KVStore, key string) QueryResponse {
	t.Helper()
	resp, err := s.Query(ctx, QueryRequest{Data: []byte(key)})
	require.NoError(t, err)
	return resp
}

// requireValue asserts that key has the committed value want.
func requireValue(t testing.TB, s *KVStore, key, want string) {
	t.Helper()
	resp := query(t, s, key)
	require.Equal(t, CodeOK, resp.Code, resp.Log)
	require.Equal(t, want, string(resp.Value))
}

func TestKVStoreCheckTx(t *testing.T) {
	s := newStore(t)
	longKey := strings.Repeat("k", MaxKeyBytes)
	cases := []struct {
		name    string
		tx      []byte
		code    uint32
		logPart string
	}{
		{"good", []byte("name=satoshi"), CodeOK, ""},
		{"empty value", []byte("name="), CodeOK, ""},
		{"value with =", []byte("a=b=c"), CodeOK, ""},
		{"binary", []byte("\x00\xff=\x00"), CodeOK, ""},
		{"key at limit", []byte(longKey + "=v"), CodeOK, ""},
		{"tx at limit", append([]byte("k="), make([]byte, MaxTxBytes-2)...), CodeOK, ""},
		{"empty tx", nil, CodeBadFormat, "no '='"},
		{"no =", []byte("novalue"), CodeBadFormat, "no '='"},
		{"empty key", []byte("=value"), CodeEmptyKey, "empty key"},
		{"only =", []byte("="), CodeEmptyKey, "empty key"},
		{"key too long", []byte(longKey + "k=v"), CodeKeyTooLong, fmt.Sprintf("key is %d bytes, max %d", MaxKeyBytes+1, MaxKeyBytes)},
		{"too large", append([]byte("k="), make([]byte, MaxTxBytes-1)...), CodeTxTooLarge, fmt.Sprintf("tx is %d bytes, max %d", MaxTxBytes+1, MaxTxBytes)},
		{"too large without =", make([]byte, MaxTxBytes+1), CodeTxTooLarge, "max"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, recheck := range []bool{false, true} {
				resp, err := s.CheckTx(ctx, CheckTxRequest{Tx: tc.tx, Recheck: recheck})
				require.NoError(t, err)
				assert.Equal(t, tc.code, resp.Code, resp.Log)
				assert.Equal(t, tc.code == CodeOK, resp.IsOK())
				if tc.code == CodeOK {
					assert.Empty(t, resp.Log)
				} else {
					assert.Contains(t, resp.Log, tc.logPart)
				}
			}
		})
	}
}

// TestKVStoreDeterministic runs the same chain on two stores: the app hash
// must match at every height, since replicas compare it.
func TestKVStoreDeterministic(t *testing.T) {
	blocks := [][]string{
		{"a=1", "b=2"},
		{},
		{"a=3", "bad", "c=", "a=4"},
		{"=x", "d=e=f"},
	}
	genesis := InitChainRequest{AppState: json.RawMessage(`{"x":"1","y":"2"}`)}
	s1, s2 := newStore(t), newStore(t)
	g1, err := s1.InitChain(ctx, genesis)
	require.NoError(t, err)
	g2, err := s2.InitChain(ctx, genesis)
	require.NoError(t, err)
	require.Equal(t, g1.AppHash, g2.AppHash)

	seen := map[string]bool{string(g1.AppHash): true}
	for i, b := range blocks {
		h := uint64(i + 1)
		h1, h2 := apply(t, s1, h, b...), apply(t, s2, h, b...)
		require.Equal(t, h1, h2, "height %d", h)
		require.False(t, seen[string(h1)], "height %d repeats an earlier app hash", h)
		seen[string(h1)] = true
		require.Equal(t, info(t, s1), info(t, s2))
	}
}

// TestKVStoreHashSensitivity checks that the hash commits to the order,
// the content and the split of the writes of a block.
func TestKVStoreHashSensitivity(t *testing.T) {
	hashOf := func(block ...string) []byte {
		return finalize(t, newStore(t), 1, block...).AppHash
	}
	base := hashOf("a=1", "b=2")
	require.Equal(t, base, hashOf("a=1", "b=2"))
	for name, block := range map[string][]string{
		"order":       {"b=2", "a=1"},
		"value":       {"a=1", "b=3"},
		"key":         {"a=1", "c=2"},
		"extra write": {"a=1", "b=2", "b=2"},
		"empty block": {},
		// Same concatenated bytes "a1b2", split differently.
		"one write":  {"a1=b2"},
		"key split":  {"a1=", "b=2"},
		"value join": {"a=1b", "2="},
	} {
		assert.NotEqual(t, base, hashOf(block...), name)
	}
	// Malformed txs are not writes: they do not change the hash.
	assert.Equal(t, base, hashOf("a=1", "junk", "b=2", "=x"))
}

func TestKVStoreBlockExecution(t *testing.T) {
	s := newStore(t)
	resp := finalize(t, s, 1, "a=1", "no-equals", "a=2", "=v", "b=")
	want := []TxResult{
		{Code: CodeOK, Log: "created"},
		{Code: CodeBadFormat, Log: "tx has no '=': want key=value"},
		{Code: CodeOK, Log: "updated"}, // sees the write of the first tx
		{Code: CodeEmptyKey, Log: "empty key: want key=value with a non-empty key"},
		{Code: CodeOK, Log: "created"},
	}
	require.Equal(t, want, resp.TxResults)
	_, err := s.Commit(ctx)
	require.NoError(t, err)
	requireValue(t, s, "a", "2") // the last write of the block wins
	requireValue(t, s, "b", "")

	resp = finalize(t, s, 2, "a=3")
	require.Equal(t, []TxResult{{Code: CodeOK, Log: "updated"}}, resp.TxResults)
}

// TestKVStoreFinalizeCopiesTxs checks that the overlay does not alias the
// request: the node may reuse its buffers before Commit.
func TestKVStoreFinalizeCopiesTxs(t *testing.T) {
	s := newStore(t)
	block := txs("a=1")
	_, err := s.FinalizeBlock(ctx, FinalizeBlockRequest{Height: 1, Txs: block})
	require.NoError(t, err)
	block[0][2] = '9'
	_, err = s.Commit(ctx)
	require.NoError(t, err)
	requireValue(t, s, "a", "1")
}

func TestKVStoreRestart(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	_, err := s.InitChain(ctx, InitChainRequest{AppState: json.RawMessage(`{"g":"genesis"}`)})
	require.NoError(t, err)
	apply(t, s, 1, "a=1")
	hash := apply(t, s, 2, "b=2", "a=3")
	require.NoError(t, s.Close())

	s = openStore(t, dir)
	got := info(t, s)
	require.Equal(t, InfoResponse{Version: KVStoreVersion, LastHeight: 2, LastAppHash: hash}, got)
	requireValue(t, s, "a", "3")
	requireValue(t, s, "b", "2")
	requireValue(t, s, "g", "genesis")
	require.Equal(t, uint64(2), query(t, s, "a").Height)
	// The chain continues where it stopped.
	apply(t, s, 3, "c=3")
}

// TestKVStoreCrashBeforeCommit closes the store between FinalizeBlock and
// Commit: the block must be lost entirely, and replaying it must give the
// hash of a store that never crashed.
func TestKVStoreCrashBeforeCommit(t *testing.T) {
	block2 := []string{"a=2", "b=2"}
	ref := newStore(t)
	apply(t, ref, 1, "a=1")
	want := apply(t, ref, 2, block2...)

	dir := t.TempDir()
	s := openStore(t, dir)
	hash1 := apply(t, s, 1, "a=1")
	require.Equal(t, want, finalize(t, s, 2, block2...).AppHash)
	require.NoError(t, s.Close()) // crash: no Commit

	s = openStore(t, dir)
	got := info(t, s)
	require.Equal(t, uint64(1), got.LastHeight)
	require.Equal(t, hash1, got.LastAppHash)
	requireValue(t, s, "a", "1")
	require.Equal(t, CodeNotFound, query(t, s, "b").Code)

	require.Equal(t, want, apply(t, s, 2, block2...))
	require.Equal(t, info(t, ref), info(t, s))
	requireValue(t, s, "a", "2")
}

func TestKVStoreHeights(t *testing.T) {
	s := newStore(t)
	_, err := s.Commit(ctx)
	require.ErrorContains(t, err, "without a finalized block")

	for _, h := range []uint64{0, 2} {
		_, err = s.FinalizeBlock(ctx, FinalizeBlockRequest{Height: h})
		require.ErrorContains(t, err, fmt.Sprintf("height %d, but the last committed height is 0", h))
	}
	apply(t, s, 1, "a=1")
	apply(t, s, 2, "a=2")
	for name, h := range map[string]uint64{"repeat": 2, "older": 1, "gap": 4} {
		_, err = s.FinalizeBlock(ctx, FinalizeBlockRequest{Height: h, Txs: txs("a=bad")})
		require.ErrorContains(t, err, fmt.Sprintf("height %d, but the last committed height is 2", h), name)
	}
	requireValue(t, s, "a", "2") // the rejected blocks changed nothing

	// Finalizing the next height again before Commit replaces the result;
	// the one after it is a gap until Commit.
	finalize(t, s, 3, "a=x")
	finalize(t, s, 3, "a=3")
	_, err = s.FinalizeBlock(ctx, FinalizeBlockRequest{Height: 4})
	require.ErrorContains(t, err, "height 4, but the last committed height is 2")
	_, err = s.Commit(ctx)
	require.NoError(t, err)
	requireValue(t, s, "a", "3")
	_, err = s.Commit(ctx)
	require.ErrorContains(t, err, "without a finalized block (last committed height 3)")
}

func TestKVStoreQuery(t *testing.T) {
	s := newStore(t)
	resp := query(t, s, "a")
	require.Equal(t, CodeNotFound, resp.Code)
	require.Equal(t, "key not found", resp.Log)

	apply(t, s, 1, "a=1", "empty=")
	finalize(t, s, 2, "a=2", "b=2")

	// Only committed state is visible, at the committed height.
	resp = query(t, s, "a")
	require.Equal(t, QueryResponse{Code: CodeOK, Key: []byte("a"), Value: []byte("1"), Height: 1}, resp)
	resp = query(t, s, "b")
	require.Equal(t, CodeNotFound, resp.Code)
	require.Equal(t, uint64(1), resp.Height)
	requireValue(t, s, "empty", "")

	resp, err := s.Query(ctx, QueryRequest{Path: "/key", Data: []byte("a")})
	require.NoError(t, err)
	require.Equal(t, "1", string(resp.Value))

	resp, err = s.Query(ctx, QueryRequest{Path: "/store", Data: []byte("a")})
	require.NoError(t, err)
	require.Equal(t, CodeUnknownPath, resp.Code)
	require.Contains(t, resp.Log, `unknown query path "/store"`)
	require.Nil(t, resp.Value)

	require.Equal(t, CodeEmptyKey, query(t, s, "").Code)
	require.Equal(t, CodeKeyTooLong, query(t, s, strings.Repeat("k", MaxKeyBytes+1)).Code)

	_, err = s.Commit(ctx)
	require.NoError(t, err)
	requireValue(t, s, "b", "2")
}

// TestKVStoreMetadataIsolated checks that user keys cannot reach the
// app's metadata, whatever they look like.
func TestKVStoreMetadataIsolated(t *testing.T) {
	s := newStore(t)
	hash := apply(t, s, 1, "m/height=x", "m/app_hash=", "k/m/height=y")
	got := info(t, s)
	require.Equal(t, uint64(1), got.LastHeight)
	require.Equal(t, hash, got.LastAppHash)
	requireValue(t, s, "m/height", "x")
}

func TestKVStoreInitChain(t *testing.T) {
	s := newStore(t)
	resp, err := s.InitChain(ctx, InitChainRequest{AppState: json.RawMessage(`{"b":"2","a":"1","c":""}`)})
	require.NoError(t, err)
	require.Equal(t, InfoResponse{Version: KVStoreVersion, LastAppHash: resp.AppHash}, info(t, s))
	requireValue(t, s, "a", "1")
	requireValue(t, s, "c", "")
	require.Equal(t, uint64(0), query(t, s, "a").Height)

	// JSON key order does not matter; content does.
	other := newStore(t)
	same, err := other.InitChain(ctx, InitChainRequest{AppState: json.RawMessage(`{"a":"1","c":"","b":"2"}`)})
	require.NoError(t, err)
	require.Equal(t, resp.AppHash, same.AppHash)
	diff, err := newStore(t).InitChain(ctx, InitChainRequest{AppState: json.RawMessage(`{"a":"1","b":"2"}`)})
	require.NoError(t, err)
	require.NotEqual(t, resp.AppHash, diff.AppHash)

	// After a restart at height 0 the node calls InitChain again: the same
	// app_state is accepted, another one is not.
	again, err := s.InitChain(ctx, InitChainRequest{AppState: json.RawMessage(`{"a":"1","b":"2","c":""}`)})
	require.NoError(t, err)
	require.Equal(t, resp.AppHash, again.AppHash)
	_, err = s.InitChain(ctx, InitChainRequest{AppState: json.RawMessage(`{"a":"other"}`)})
	require.ErrorContains(t, err, "different app_state")

	apply(t, s, 1, "a=2")
	_, err = s.InitChain(ctx, InitChainRequest{AppState: json.RawMessage(`{"a":"1","b":"2","c":""}`)})
	require.ErrorContains(t, err, "already at height 1")
}

func TestKVStoreInitChainEmpty(t *testing.T) {
	for _, state := range []string{"", "  ", "{}"} {
		resp, err := newStore(t).InitChain(ctx, InitChainRequest{AppState: json.RawMessage(state)})
		require.NoError(t, err, "%q", state)
		require.NotEmpty(t, resp.AppHash)
	}
}

func TestKVStoreInitChainBadAppState(t *testing.T) {
	for name, state := range map[string]string{
		"array":        `["a=1"]`,
		"number":       `42`,
		"null":         `null`,
		"non-string":   `{"a":1}`,
		"nested":       `{"a":{"b":"c"}}`,
		"invalid json": `{"a":`,
		"empty key":    `{"":"v"}`,
		"key with =":   `{"a=b":"c"}`,
		"long key":     fmt.Sprintf(`{%q:"v"}`, strings.Repeat("k", MaxKeyBytes+1)),
		"large value":  fmt.Sprintf(`{"k":%q}`, strings.Repeat("v", MaxTxBytes)),
	} {
		s := newStore(t)
		_, err := s.InitChain(ctx, InitChainRequest{AppState: json.RawMessage(state)})
		require.ErrorContains(t, err, "app_state", name)
		require.Equal(t, InfoResponse{Version: KVStoreVersion}, info(t, s), name)
	}
}

func TestKVStoreProposals(t *testing.T) {
	s := newStore(t)
	prep, err := s.PrepareProposal(ctx, PrepareProposalRequest{Height: 1, Txs: txs("b=1", "bad", "a=2", "=x"), MaxTxBytes: 1 << 20})
	require.NoError(t, err)
	require.Equal(t, txs("b=1", "a=2"), prep.Txs)

	proc, err := s.ProcessProposal(ctx, ProcessProposalRequest{Height: 1, Txs: txs("bad", "=x", "a=1")})
	require.NoError(t, err)
	require.True(t, proc.Accept)
}

func TestKVStoreClose(t *testing.T) {
	s := newStore(t)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err := s.FinalizeBlock(ctx, FinalizeBlockRequest{Height: 1})
	require.ErrorIs(t, err, leveldb.ErrClosed)
	_, err = s.Query(ctx, QueryRequest{Data: []byte("a")})
	require.ErrorIs(t, err, leveldb.ErrClosed)
}

// committedDir returns a closed database directory with a few committed
// blocks, for corruption tests. reopen also closes and reopens it once,
// which makes LevelDB flush its journal into a table (.ldb) file.
func committedDir(t *testing.T, reopen bool) string {
	t.Helper()
	dir := t.TempDir()
	s, err := NewKVStore(dir)
	require.NoError(t, err)
	for h := uint64(1); h <= 3; h++ {
		apply(t, s, h, fmt.Sprintf("key%d=value%d", h, h))
	}
	require.NoError(t, s.Close())
	if reopen {
		s, err = NewKVStore(dir)
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
	return dir
}

// garble overwrites every file of dir matching pattern with garbage of the
// same size.
func garble(t *testing.T, dir, pattern string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no %s in %s", pattern, dir)
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		junk := bytes.Repeat([]byte("garbage!"), int(fi.Size()/8+1))[:fi.Size()]
		require.NoError(t, os.WriteFile(f, junk, 0o644))
	}
}

// requireCorrupt asserts that opening dir fails with a CorruptDBError
// naming dir.
func requireCorrupt(t *testing.T, dir, detail string) {
	t.Helper()
	s, err := NewKVStore(dir)
	if err == nil {
		s.Close()
	}
	require.Error(t, err)
	var cerr *CorruptDBError
	require.True(t, errors.As(err, &cerr), "%T: %v", err, err)
	require.Equal(t, dir, cerr.Dir)
	require.Contains(t, err.Error(), dir)
	require.Contains(t, err.Error(), "is corrupt")
	require.Contains(t, err.Error(), detail)
}

// TestKVStoreCorruptDB damages LevelDB's files. A damaged journal is not
// among them: it opens at a lower height (see TestKVStoreDamagedJournal).
func TestKVStoreCorruptDB(t *testing.T) {
	t.Run("CURRENT", func(t *testing.T) {
		dir := committedDir(t, false)
		garble(t, dir, "CURRENT")
		requireCorrupt(t, dir, "CURRENT")
	})
	t.Run("MANIFEST", func(t *testing.T) {
		dir := committedDir(t, false)
		garble(t, dir, "MANIFEST-*")
		requireCorrupt(t, dir, "MANIFEST")
	})
	t.Run("table", func(t *testing.T) {
		dir := committedDir(t, true)
		garble(t, dir, "*.ldb")
		requireCorrupt(t, dir, ".ldb")
	})
	t.Run("all files but LOCK removed", func(t *testing.T) {
		dir := committedDir(t, false)
		for _, p := range []string{"CURRENT", "MANIFEST-*"} {
			files, err := filepath.Glob(filepath.Join(dir, p))
			require.NoError(t, err)
			for _, f := range files {
				require.NoError(t, os.Remove(f))
			}
		}
		requireCorrupt(t, dir, "missing")
	})
}

// TestKVStoreDamagedJournal: a journal torn by a kill in mid-write, or
// overwritten, opens at a lower height instead of failing, and replaying
// the lost blocks (as the node's handshake does) gives the same app hash
// as a store that lost nothing.
func TestKVStoreDamagedJournal(t *testing.T) {
	ref := committedDir(t, false)
	want := infoOf(t, ref)
	for name, damage := range map[string]func(t *testing.T, dir string){
		"torn tail": func(t *testing.T, dir string) {
			files, err := filepath.Glob(filepath.Join(dir, "*.log"))
			require.NoError(t, err)
			require.Len(t, files, 1)
			fi, err := os.Stat(files[0])
			require.NoError(t, err)
			require.NoError(t, os.Truncate(files[0], fi.Size()-5))
		},
		"garbage": func(t *testing.T, dir string) { garble(t, dir, "*.log") },
	} {
		t.Run(name, func(t *testing.T) {
			dir := committedDir(t, false)
			damage(t, dir)
			s, err := NewKVStore(dir)
			require.NoError(t, err)
			defer s.Close()
			info, err := s.Info(context.Background(), InfoRequest{})
			require.NoError(t, err)
			require.Less(t, info.LastHeight, want.LastHeight, "the damaged record is lost")
			for h := info.LastHeight + 1; h <= want.LastHeight; h++ {
				apply(t, s, h, fmt.Sprintf("key%d=value%d", h, h))
			}
			got, err := s.Info(context.Background(), InfoRequest{})
			require.NoError(t, err)
			require.Equal(t, want.LastAppHash, got.LastAppHash)
		})
	}
}

func infoOf(t *testing.T, dir string) InfoResponse {
	t.Helper()
	s, err := NewKVStore(dir)
	require.NoError(t, err)
	defer s.Close()
	info, err := s.Info(context.Background(), InfoRequest{})
	require.NoError(t, err)
	return info
}

// TestKVStoreBadMetadata stores metadata the app never writes.
func TestKVStoreBadMetadata(t *testing.T) {
	for name, tc := range map[string]struct {
		height, hash []byte
		detail       string
	}{
		"short height": {make([]byte, 7), []byte("hash"), "height is 7 bytes, want 8"},
		"long hash":    {make([]byte, 8), make([]byte, 65), "app hash is 65 bytes, want 1..64"},
		"empty hash":   {make([]byte, 8), []byte{}, "app hash is 0 bytes"},
		"no hash":      {make([]byte, 8), nil, "only one of"},
		"no height":    {nil, []byte("hash"), "only one of"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := leveldb.OpenFile(dir, nil)
			require.NoError(t, err)
			if tc.height != nil {
				require.NoError(t, db.Put(metaHeightKey, tc.height, nil))
			}
			if tc.hash != nil {
				require.NoError(t, db.Put(metaHashKey, tc.hash, nil))
			}
			require.NoError(t, db.Close())
			requireCorrupt(t, dir, tc.detail)
		})
	}
}

// TestKVStoreConcurrent runs CheckTx, Query and Info against a chain being
// executed. Each block writes counter=<height>, so a query that saw a value
// from another height than the one it reports would be caught.
func TestKVStoreConcurrent(t *testing.T) {
	const blocks = 30
	s := newStore(t)
	var done atomic.Bool
	var wg sync.WaitGroup
	reader := func(read func() bool) {
		defer wg.Done()
		for i := 0; i < 100_000 && !done.Load(); i++ {
			if !read() {
				return
			}
		}
	}
	wg.Add(3)
	go reader(func() bool {
		resp, err := s.Query(ctx, QueryRequest{Data: []byte("counter")})
		if !assert.NoError(t, err) {
			return false
		}
		if resp.Height == 0 {
			return assert.Equal(t, CodeNotFound, resp.Code)
		}
		return assert.Equal(t, strconv.FormatUint(resp.Height, 10), string(resp.Value))
	})
	go reader(func() bool {
		resp, err := s.CheckTx(ctx, CheckTxRequest{Tx: []byte("counter=1")})
		return assert.NoError(t, err) && assert.True(t, resp.IsOK())
	})
	var lastSeen uint64
	go reader(func() bool {
		resp, err := s.Info(ctx, InfoRequest{})
		ok := assert.NoError(t, err) && assert.GreaterOrEqual(t, resp.LastHeight, lastSeen)
		lastSeen = resp.LastHeight
		return ok
	})
	for h := uint64(1); h <= blocks; h++ {
		apply(t, s, h, fmt.Sprintf("counter=%d", h), fmt.Sprintf("k%d=v", h%3))
	}
	done.Store(true)
	wg.Wait()
	requireValue(t, s, "counter", strconv.Itoa(blocks))
}

// FuzzKVStoreTx feeds arbitrary bytes to CheckTx, FinalizeBlock and Query:
// none may panic, FinalizeBlock must judge a tx exactly as CheckTx does,
// and an accepted tx must be readable once committed.
func FuzzKVStoreTx(f *testing.F) {
	for _, seed := range []string{"a=b", "", "=", "==", "a", "a==", "=a=b", "\x00=\xff", strings.Repeat("k", MaxKeyBytes+1) + "=v"} {
		f.Add([]byte(seed))
	}
	s := newStore(f)
	var height uint64
	f.Fuzz(func(t *testing.T, tx []byte) {
		check, err := s.CheckTx(ctx, CheckTxRequest{Tx: tx})
		require.NoError(t, err)
		height++
		resp, err := s.FinalizeBlock(ctx, FinalizeBlockRequest{Height: height, Txs: [][]byte{tx, tx}})
		require.NoError(t, err)
		for _, r := range resp.TxResults {
			require.Equal(t, check.Code, r.Code)
		}
		_, err = s.Commit(ctx)
		require.NoError(t, err)
		q, err := s.Query(ctx, QueryRequest{Data: tx})
		require.NoError(t, err)
		if q.Code == CodeOK || q.Code == CodeNotFound {
			require.Equal(t, height, q.Height)
		}
		if !check.IsOK() {
			return
		}
		key, value, _ := bytes.Cut(tx, []byte("="))
		q, err = s.Query(ctx, QueryRequest{Data: key})
		require.NoError(t, err)
		require.Equal(t, CodeOK, q.Code, q.Log)
		require.Equal(t, value, q.Value)
	})
}
