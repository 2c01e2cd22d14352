package app

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/bftkit/bftkit/types"
)

// Layout of the kvstore's LevelDB. User keys and the app's own metadata
// live under distinct prefixes, so that no transaction can overwrite the
// committed height or app hash, whatever key it names.
var (
	userPrefix    = []byte("k/")
	metaHeightKey = []byte("m/height")   // 8 bytes, big-endian
	metaHashKey   = []byte("m/app_hash") // 1..types.MaxAppHashBytes bytes
)

// syncWrite makes a write durable before it returns: after Commit or
// InitChain returns, a crash must not lose the state Info then reports.
var syncWrite = &opt.WriteOptions{Sync: true}

// CorruptDBError reports a kvstore database that cannot be trusted:
// LevelDB found corruption, or the app's metadata is malformed. The
// kvstore never repairs or resets such a database itself: an app that
// silently restarted from an empty or partial state would diverge from
// its peers. The operator restores a backup or resyncs the node.
type CorruptDBError struct {
	Dir string
	Err error
}

func (e *CorruptDBError) Error() string {
	return fmt.Sprintf("kvstore: database in %s is corrupt (not repairing it): %v", e.Dir, e.Err)
}

func (e *CorruptDBError) Unwrap() error { return e.Err }

// dbOptions are LevelDB's defaults, which skip an unreadable journal
// record and open anyway. That is the right side for an application
// behind a bftkit node: the node's block store, not the app, is the
// source of truth, and the Info handshake replays every committed block
// above the height the app reports. A journal record torn by a kill -9
// in the middle of a large Commit write (LevelDB writes a record larger
// than its 32 KiB block in several system calls) therefore costs a replay
// of that block, where strict mode would refuse to open and stop the
// validator. The price: a garbage journal opens as an empty app at height
// 0 (rebuilt by replay), and a bad record in the middle of the journal,
// which only disk corruption produces, loses that block's writes without
// an error. Damaged manifests and tables are still refused.
//
// The Bloom filter and the write buffer are for FinalizeBlock, which
// reads every written key to report it created or updated. Most keys are
// new: without the filter each such miss reads a block of every table
// that may hold it. A 32 MiB memtable (goleveldb's default is 4 MiB)
// keeps recent writes in memory longer and makes fewer, larger level-0
// tables, each of which a read must search: with the default, reading
// was 16 % of a validator's CPU at 25,000 tx/s.
var dbOptions = &opt.Options{Filter: filter.NewBloomFilter(10), WriteBuffer: 32 << 20}

// openDB opens (creating) the LevelDB in dir and checks its metadata.
// LevelDB refuses on its own to recreate a directory that still holds
// LevelDB files but no valid CURRENT/MANIFEST: it reports corruption,
// which is turned here into a CorruptDBError.
func openDB(dir string) (*leveldb.DB, committed, error) {
	db, err := leveldb.OpenFile(dir, dbOptions)
	if err != nil {
		if lerrors.IsCorrupted(err) {
			return nil, committed{}, &CorruptDBError{Dir: dir, Err: err}
		}
		return nil, committed{}, fmt.Errorf("kvstore: open database in %s: %w", dir, err)
	}
	c, err := readCommitted(db)
	if err != nil {
		db.Close()
		return nil, committed{}, dbError(dir, err)
	}
	return db, c, nil
}

// dbError names dir in an error from reading the database, and marks
// corruption (by LevelDB or of our metadata) as a CorruptDBError.
func dbError(dir string, err error) error {
	var me *metaError
	if lerrors.IsCorrupted(err) || errors.As(err, &me) {
		return &CorruptDBError{Dir: dir, Err: err}
	}
	return fmt.Errorf("kvstore: database in %s: %w", dir, err)
}

// committed is the durable position of the app: what Info reports.
type committed struct {
	height  uint64
	appHash []byte
}

// metaError is malformed metadata: the database opened, but what it says
// about the committed state is not something this app ever writes.
type metaError struct{ msg string }

func (e *metaError) Error() string { return "malformed metadata: " + e.msg }

// getter is what *leveldb.DB and *leveldb.Snapshot share for reads, so
// the same code reads the live database and a consistent snapshot.
type getter interface {
	Get(key []byte, ro *opt.ReadOptions) ([]byte, error)
}

// readCommitted reads and validates the metadata. Both keys are absent in
// a fresh database and both present once InitChain or a Commit has run,
// since they are always written in the same batch.
func readCommitted(g getter) (committed, error) {
	height, hasHeight, err := getOptional(g, metaHeightKey)
	if err != nil {
		return committed{}, err
	}
	hash, hasHash, err := getOptional(g, metaHashKey)
	if err != nil {
		return committed{}, err
	}
	switch {
	case !hasHeight && !hasHash:
		return committed{}, nil
	case !hasHeight || !hasHash:
		return committed{}, &metaError{"only one of the height and the app hash is stored"}
	}
	return decodeCommitted(height, hash)
}

// decodeCommitted validates the stored height and app hash.
func decodeCommitted(height, hash []byte) (committed, error) {
	switch {
	case len(height) != 8:
		return committed{}, &metaError{fmt.Sprintf("height is %d bytes, want 8", len(height))}
	case len(hash) == 0 || len(hash) > types.MaxAppHashBytes:
		return committed{}, &metaError{fmt.Sprintf("app hash is %d bytes, want 1..%d", len(hash), types.MaxAppHashBytes)}
	}
	return committed{height: binary.BigEndian.Uint64(height), appHash: hash}, nil
}

// getOptional returns the value of key and whether it is present; an
// absent key is not an error.
func getOptional(g getter, key []byte) (value []byte, found bool, err error) {
	v, err := g.Get(key, nil)
	switch {
	case errors.Is(err, leveldb.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return v, true, nil
}

// putCommitted adds the metadata of c to batch, so that it becomes durable
// atomically with the state it describes.
func putCommitted(batch *leveldb.Batch, c committed) {
	var h [8]byte
	binary.BigEndian.PutUint64(h[:], c.height)
	batch.Put(metaHeightKey, h[:])
	batch.Put(metaHashKey, c.appHash)
}

// userKey maps a client's key into the user key space.
func userKey(key []byte) []byte {
	k := make([]byte, 0, len(userPrefix)+len(key))
	return append(append(k, userPrefix...), key...)
}
