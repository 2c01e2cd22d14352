package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/syndtr/goleveldb/leveldb"
)

// KVStoreVersion is what KVStore.Info reports as Version.
const KVStoreVersion = "kvstore/1"

// KVStore is the example application: a replicated key/value store whose
// transactions are "key=value" (split at the first '='; the value may be
// empty or contain '='). State lives in a LevelDB of its own.
//
// Execution is two-phase, like the node's: FinalizeBlock applies a
// block's writes to an in-memory overlay and computes the new app hash;
// Commit writes the overlay, the height and the app hash in one synced
// LevelDB batch. A crash in between loses the overlay and leaves the
// database at the previous height, so Info makes the node replay the
// block, which yields the same writes and the same hash.
//
// Concurrency: the consensus methods (InitChain, FinalizeBlock, Commit)
// are serialized by mu. CheckTx is stateless. Info and Query read a
// LevelDB snapshot: a Commit batch is applied atomically, so a snapshot
// shows a height together with exactly that height's values, and readers
// never wait for, nor see, an uncommitted block.
type KVStore struct {
	dir string
	db  *leveldb.DB

	mu      sync.Mutex
	last    committed     // the durable state, as written by the last commit
	pending *pendingBlock // the finalized, not yet committed block, if any
	closed  bool
}

var _ Application = (*KVStore)(nil)

// pendingBlock is the result of FinalizeBlock awaiting Commit.
type pendingBlock struct {
	committed                   // the height and app hash it will commit
	overlay   map[string][]byte // client key -> value written by the block
}

// NewKVStore opens the kvstore database in dir, creating dir and an empty
// database if needed. A database LevelDB reports as corrupt, or whose
// metadata is malformed, is a *CorruptDBError naming dir; it is never
// repaired or reset.
func NewKVStore(dir string) (*KVStore, error) {
	db, last, err := openDB(dir)
	if err != nil {
		return nil, err
	}
	return &KVStore{dir: dir, db: db, last: last}, nil
}

// Close closes the database. A block finalized but not committed is
// dropped, exactly as if the process had crashed. Close is idempotent.
func (s *KVStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed, s.pending = true, nil
	return s.db.Close()
}

// Info reports the committed height and app hash, read from the database
// so that it reflects exactly what survives a crash.
func (s *KVStore) Info(context.Context, InfoRequest) (InfoResponse, error) {
	snap, err := s.db.GetSnapshot()
	if err != nil {
		return InfoResponse{}, s.dbError(err)
	}
	defer snap.Release()
	c, err := readCommitted(snap)
	if err != nil {
		return InfoResponse{}, s.dbError(err)
	}
	return InfoResponse{Version: KVStoreVersion, LastHeight: c.height, LastAppHash: c.appHash}, nil
}

// InitChain writes the genesis pairs of req.AppState (empty, or a JSON
// object of string to string) at height 0, durably, and returns the hash
// of that state. Every pair must be a valid transaction, so that genesis
// cannot create keys transactions could not.
//
// The node calls InitChain whenever Info reports height 0, which includes
// a restart after InitChain but before the first Commit; so InitChain
// with the app_state already applied is accepted and changes nothing,
// while a different app_state, or any call above height 0, is an error.
func (s *KVStore) InitChain(_ context.Context, req InitChainRequest) (InitChainResponse, error) {
	pairs, err := parseAppState(req.AppState)
	if err != nil {
		return InitChainResponse{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkInitChain(); err != nil {
		return InitChainResponse{}, err
	}
	gen, batch := genesisBatch(pairs)
	if s.last.appHash != nil {
		if !bytes.Equal(s.last.appHash, gen.appHash) {
			return InitChainResponse{}, fmt.Errorf("kvstore: InitChain: already initialized with a different app_state (app hash %X, this app_state gives %X)", s.last.appHash, gen.appHash)
		}
		return InitChainResponse{AppHash: gen.appHash}, nil
	}
	if err := s.db.Write(batch, syncWrite); err != nil {
		return InitChainResponse{}, s.dbError(err)
	}
	s.last = gen
	return InitChainResponse{AppHash: gen.appHash}, nil
}

// checkInitChain rejects InitChain once the chain has started.
func (s *KVStore) checkInitChain() error {
	switch {
	case s.closed:
		return leveldb.ErrClosed
	case s.last.height > 0:
		return fmt.Errorf("kvstore: InitChain on a store already at height %d", s.last.height)
	case s.pending != nil:
		return fmt.Errorf("kvstore: InitChain with block %d finalized but not committed", s.pending.height)
	}
	return nil
}

// genesisPair is one initial key/value pair.
type genesisPair struct{ key, value []byte }

// parseAppState decodes and validates genesis' app_state, sorted by key:
// JSON objects are unordered, and the app hash needs one order.
func parseAppState(raw json.RawMessage) ([]genesisPair, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("kvstore: app_state must be empty or a JSON object of string to string: %v", errOrNull(err))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]genesisPair, 0, len(keys))
	for _, k := range keys {
		p, err := genesisPairOf(k, m[k])
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, p)
	}
	return pairs, nil
}

// errOrNull explains a failed app_state decoding; a JSON null decodes
// without error into a nil map.
func errOrNull(err error) error {
	if err == nil {
		return errors.New("got null")
	}
	return err
}

// genesisPairOf checks that key=value would be an accepted transaction
// naming exactly key (so key has no '=').
func genesisPairOf(key, value string) (genesisPair, error) {
	k, v, code, log := parseTx([]byte(key + "=" + value))
	if code != CodeOK {
		return genesisPair{}, fmt.Errorf("kvstore: app_state key %q: %s", truncate(key), log)
	}
	if len(k) != len(key) {
		return genesisPair{}, fmt.Errorf("kvstore: app_state key %q contains '='", truncate(key))
	}
	return genesisPair{key: k, value: v}, nil
}

// truncate shortens a key for an error message.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// genesisBatch returns the height-0 state of pairs and the batch that
// writes it.
func genesisBatch(pairs []genesisPair) (committed, *leveldb.Batch) {
	h := newBlockHasher(nil, 0)
	batch := new(leveldb.Batch)
	for _, p := range pairs {
		h.write(p.key, p.value)
		batch.Put(userKey(p.key), p.value)
	}
	gen := committed{height: 0, appHash: h.sum()}
	putCommitted(batch, gen)
	return gen, batch
}

// CheckTx accepts well-formed key=value transactions. Any key may be
// written any number of times, so the check is stateless and a Recheck
// gives the same answer.
func (s *KVStore) CheckTx(_ context.Context, req CheckTxRequest) (CheckTxResponse, error) {
	_, _, code, log := parseTx(req.Tx)
	return CheckTxResponse{Code: code, Log: log}, nil
}

// PrepareProposal drops malformed transactions, which could only fail in
// the block, and keeps the order of the others. Size limits are left to
// the node, which truncates at MaxTxBytes.
func (s *KVStore) PrepareProposal(_ context.Context, req PrepareProposalRequest) (PrepareProposalResponse, error) {
	txs := make([][]byte, 0, len(req.Txs))
	for _, tx := range req.Txs {
		if _, _, code, _ := parseTx(tx); code == CodeOK {
			txs = append(txs, tx)
		}
	}
	return PrepareProposalResponse{Txs: txs}, nil
}

// ProcessProposal accepts every block: a malformed transaction (which a
// Byzantine leader may propose) just fails in FinalizeBlock without
// changing the state, so it is no reason to stall consensus.
func (s *KVStore) ProcessProposal(context.Context, ProcessProposalRequest) (ProcessProposalResponse, error) {
	return ProcessProposalResponse{Accept: true}, nil
}

// FinalizeBlock executes the block at req.Height, which must be the one
// after the last committed height. Finalizing that height again before
// Commit replaces the earlier result. Malformed transactions get a failed
// TxResult and change nothing. The state is held in memory until Commit.
func (s *KVStore) FinalizeBlock(_ context.Context, req FinalizeBlockRequest) (FinalizeBlockResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkNextHeight(req.Height); err != nil {
		return FinalizeBlockResponse{}, err
	}
	s.pending = nil
	p := &pendingBlock{overlay: make(map[string][]byte)}
	h := newBlockHasher(s.last.appHash, req.Height)
	results := make([]TxResult, len(req.Txs))
	for i, tx := range req.Txs {
		r, err := s.applyTx(p, h, tx)
		if err != nil {
			return FinalizeBlockResponse{}, err
		}
		results[i] = r
	}
	p.committed = committed{height: req.Height, appHash: h.sum()}
	s.pending = p
	return FinalizeBlockResponse{TxResults: results, AppHash: p.appHash}, nil
}

// checkNextHeight enforces that blocks are executed in order, without
// gaps or repeats: anything else means the node and the app disagree on
// where the chain stands, and executing would fork the state.
func (s *KVStore) checkNextHeight(height uint64) error {
	if s.closed {
		return leveldb.ErrClosed
	}
	if want := s.last.height + 1; height != want {
		return fmt.Errorf("kvstore: FinalizeBlock at height %d, but the last committed height is %d (want %d)", height, s.last.height, want)
	}
	return nil
}

// applyTx executes one transaction against the overlay and adds its write
// to the block's hash. The result log says whether the key was created or
// updated, which reads the block's earlier writes before the committed
// state. Only database errors are returned as errors.
func (s *KVStore) applyTx(p *pendingBlock, h *blockHasher, tx []byte) (TxResult, error) {
	key, value, code, log := parseTx(tx)
	if code != CodeOK {
		return TxResult{Code: code, Log: log}, nil
	}
	_, found, err := s.lookup(p, key)
	if err != nil {
		return TxResult{}, s.dbError(err)
	}
	// Copy: the overlay outlives the request, whose buffers the caller owns.
	p.overlay[string(key)] = bytes.Clone(value)
	h.write(key, value)
	if found {
		return TxResult{Code: CodeOK, Log: "updated"}, nil
	}
	return TxResult{Code: CodeOK, Log: "created"}, nil
}

// lookup reads key as the block being executed sees it: its own earlier
// writes first, then the committed state.
func (s *KVStore) lookup(p *pendingBlock, key []byte) (value []byte, found bool, err error) {
	if v, ok := p.overlay[string(key)]; ok {
		return v, true, nil
	}
	return getOptional(s.db, userKey(key))
}

// Commit makes the finalized block durable: its writes, its height and its
// app hash go to LevelDB in one synced batch, so a crash leaves either the
// previous block or this one, never a mix.
func (s *KVStore) Commit(context.Context) (CommitResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return CommitResponse{}, leveldb.ErrClosed
	}
	p := s.pending
	if p == nil {
		return CommitResponse{}, fmt.Errorf("kvstore: Commit without a finalized block (last committed height %d)", s.last.height)
	}
	if err := s.db.Write(p.batch(), syncWrite); err != nil {
		return CommitResponse{}, s.dbError(err)
	}
	s.last, s.pending = p.committed, nil
	return CommitResponse{}, nil
}

// batch returns the writes of the block plus its metadata. The overlay's
// iteration order does not matter: its keys are distinct, and the app
// hash was computed in block order by FinalizeBlock.
func (p *pendingBlock) batch() *leveldb.Batch {
	batch := new(leveldb.Batch)
	for k, v := range p.overlay {
		batch.Put(userKey([]byte(k)), v)
	}
	putCommitted(batch, p.committed)
	return batch
}

// Query returns the committed value of the key in req.Data, with the
// height it was read at. req.Path is "" or "/key". The uncommitted block
// is never visible: clients only see state that survives a crash.
func (s *KVStore) Query(_ context.Context, req QueryRequest) (QueryResponse, error) {
	resp := QueryResponse{Key: req.Data}
	if req.Path != "" && req.Path != "/key" {
		resp.Code, resp.Log = CodeUnknownPath, fmt.Sprintf("unknown query path %q: want \"\" or \"/key\"", truncate(req.Path))
		return resp, nil
	}
	if resp.Code, resp.Log = checkKey(req.Data); resp.Code != CodeOK {
		return resp, nil
	}
	return s.queryKey(resp)
}

// queryKey reads resp.Key and the height from one snapshot, so that the
// value is the one committed at the reported height.
func (s *KVStore) queryKey(resp QueryResponse) (QueryResponse, error) {
	snap, err := s.db.GetSnapshot()
	if err != nil {
		return QueryResponse{}, s.dbError(err)
	}
	defer snap.Release()
	c, err := readCommitted(snap)
	if err != nil {
		return QueryResponse{}, s.dbError(err)
	}
	resp.Height = c.height
	v, err := snap.Get(userKey(resp.Key), nil)
	switch {
	case errors.Is(err, leveldb.ErrNotFound):
		resp.Code, resp.Log = CodeNotFound, "key not found"
	case err != nil:
		return QueryResponse{}, s.dbError(err)
	default:
		resp.Value = v
	}
	return resp, nil
}

// dbError names the store's directory in a database error.
func (s *KVStore) dbError(err error) error {
	if errors.Is(err, leveldb.ErrClosed) {
		return err
	}
	return dbError(s.dir, err)
}
