// Package store is a node's durable state on LevelDB: the engine's safety
// state, the blocks the engine asked to keep ("pending"), and the committed
// chain with the proof of each commit.
//
// The store is where the types.Ready contract's durability point lives: the
// node calls Persist with the durable part of a Ready (safety state, blocks,
// committed blocks) and sends none of that Ready's messages until Persist
// has returned. Persist is one synced LevelDB write batch, so after a crash
// either all of a Ready's durable state is on disk or none of it is, and a
// vote can never be on the wire while the safety state that forbids a
// conflicting vote is not.
//
// Everything read back is checked: sizes, framing, that a block hashes to
// the ID it is stored under and sits at the height it is stored at, and
// that indexes point at records that exist. A failed check is ErrCorrupt
// naming the key; the store never repairs or resets itself, because a node
// that silently forgot what it signed could sign a conflict.
//
// One goroutine writes (the node's Ready loop); any number may read
// concurrently (the HTTP API). The store starts no goroutines of its own
// (goleveldb runs its compactions in the background).
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/bftkit/bftkit/types"
)

// formatVersion is the layout of keys.go and codec.go. A store written by
// another layout is refused rather than misread.
const formatVersion = 1

var (
	// ErrCorrupt marks a record that fails its checks, or a database that
	// LevelDB itself reports as corrupt. The store does not repair it: restore
	// the directory from a backup or delete it and resync from peers.
	ErrCorrupt = errors.New("store: corrupt")
	// ErrNotFound means the requested block or height is not stored.
	ErrNotFound = errors.New("store: not found")
	// ErrUnknownFormat means the directory holds a database this build does
	// not understand: a newer format version, or not a store at all.
	ErrUnknownFormat = errors.New("store: unknown format")
)

// corruptf is an ErrCorrupt naming the record.
func corruptf(key []byte, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, keyName(key), fmt.Sprintf(format, args...))
}

// Options tunes Open. The zero value is what a node wants.
type Options struct {
	// ErrorIfMissing makes Open fail (with an error matching fs.ErrNotExist)
	// instead of creating a store, and leaves the directory untouched: a tool
	// inspecting a node's data must not create an empty store by mistake.
	ErrorIfMissing bool
	// WriteBufferBytes is LevelDB's memtable size; 0 is goleveldb's default
	// (4 MiB). Larger values mean fewer table flushes with large blocks, at
	// the cost of memory and of a longer journal replay on open.
	WriteBufferBytes int
}

// Store is an open store. Its methods are safe for concurrent use; Persist
// calls are serialized.
type Store struct {
	dir string
	db  *leveldb.DB

	writeMu sync.Mutex // serializes Persist: its gap check reads what it extends
	// height caches the committed height. It is stored after the batch that
	// wrote it, so a reader that loads h can read every record up to h.
	height atomic.Uint64

	// recent holds the last recentCommitted committed blocks Persist wrote,
	// by height: the fresh blocks the node reads back at once (to execute
	// them, for the HTTP API, for peers catching up) are not decoded and
	// hashed again. Filled before height is stored.
	recentMu sync.Mutex
	recent   map[uint64]types.CommittedBlock
}

// recentCommitted bounds Store.recent.
const recentCommitted = 64

// Open opens the store in dir, creating it if dir is absent or empty.
//
// It refuses, with an error naming dir:
//   - a database LevelDB reports as corrupt, or a directory with a store's
//     files but no readable manifest (never creating a database over them);
//   - a store that reads back without its format version although it was
//     created (markerFile): LevelDB dropped data;
//   - a store of an unknown format version, or a database that is not a
//     store (ErrUnknownFormat);
//   - a store whose committed tip does not read back;
//   - a directory holding other files, where it will not create a store.
//
// It never calls leveldb.Recover: recovery drops data, and whether a
// validator may run on a store that lost data is an operator's decision.
func Open(dir string, opts Options) (*Store, error) {
	kind, err := inspectDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	switch {
	case kind == dirForeign:
		return nil, fmt.Errorf("store: open %s: the directory holds other files and no store; not creating one there", dir)
	case kind == dirEmpty && opts.ErrorIfMissing:
		return nil, fmt.Errorf("store: open %s: no store there: %w", dir, fs.ErrNotExist)
	}
	exists := kind == dirStore
	db, err := leveldb.OpenFile(dir, &opt.Options{
		// Never create over existing files: if they are there but LevelDB
		// cannot find its manifest, that is corruption, not a new store.
		ErrorIfMissing: exists,
		WriteBuffer:    opts.WriteBufferBytes,
		// Keep every batch on the journal path. goleveldb otherwise writes a
		// batch larger than the write buffer (a Ready with large blocks)
		// straight into tables through a transaction: a second durability
		// mechanism, which the crash test does not exercise.
		DisableLargeBatchTransaction: true,
	})
	switch {
	case err == nil:
	case lerrors.IsCorrupted(err):
		return nil, corruptDir(dir, err)
	case exists && errors.Is(err, fs.ErrNotExist):
		return nil, corruptDir(dir, fmt.Errorf("database files present but no usable manifest: %w", err))
	default:
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	s := &Store{dir: dir, db: db, recent: make(map[uint64]types.CommittedBlock)}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	return s, nil
}

// corruptDir is the error for a database that cannot be trusted as a
// whole, saying what to do about it.
func corruptDir(dir string, err error) error {
	return fmt.Errorf("%w: the database in %s is corrupt (%w); the store does not repair it: "+
		"restore the directory from a backup, or move it aside and resync the node from its peers",
		ErrCorrupt, dir, err)
}

type dirKind int

const (
	dirEmpty   dirKind = iota // absent, or only what goleveldb writes before reading
	dirStore                  // a store's files, intact or not
	dirForeign                // other files: not a place to create a store
)

// inspectDir classifies dir by the names of its files.
func inspectDir(dir string) (dirKind, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return dirEmpty, nil
	}
	if err != nil {
		return 0, err
	}
	kind := dirEmpty
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == "LOCK" || name == "LOG" || name == "LOG.old":
		case name == markerFile || strings.HasPrefix(name, "CURRENT") || strings.HasPrefix(name, "MANIFEST-"):
			return dirStore, nil
		default:
			switch filepath.Ext(name) {
			case ".log", ".ldb", ".sst", ".tmp":
				return dirStore, nil
			}
			kind = dirForeign
		}
	}
	return kind, nil
}

// markerFile is created in a new store's directory once its format version
// is durable. LevelDB discards journal blocks that fail their checksum and
// then opens normally, so a database can come back with less than was
// written, down to nothing; the marker is how a store that comes back empty
// is told apart from one never written, instead of being silently
// recreated. LevelDB ignores files whose names it does not know.
const markerFile = "BFTKIT-STORE"

// init checks the format version, writing it into a new store, and loads
// the committed height, checking that the record at the tip reads back.
func (s *Store) init() error {
	_, err := os.Stat(filepath.Join(s.dir, markerFile))
	marked := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	v, err := s.db.Get(keyVersion, nil)
	switch {
	case errors.Is(err, leveldb.ErrNotFound):
		if marked {
			return corruptDir(s.dir, errors.New("the store's format version is missing; LevelDB may have discarded corrupt data"))
		}
		empty, err := s.isEmpty()
		if err != nil {
			return err
		}
		if !empty {
			return fmt.Errorf("%w: the database holds data but no format version", ErrUnknownFormat)
		}
		// A new store, or one whose creation crashed before this write.
		if err := s.db.Put(keyVersion, binary.AppendUvarint(nil, formatVersion), syncWrite); err != nil {
			return fmt.Errorf("write format version: %w", err)
		}
		return writeMarker(s.dir)
	case err != nil:
		return readErr(keyVersion, err)
	}
	got, n := binary.Uvarint(v)
	if n <= 0 || n != len(v) {
		return corruptf(keyVersion, "undecodable format version %x", v)
	}
	if got != formatVersion {
		return fmt.Errorf("%w: format version %d, this build reads version %d", ErrUnknownFormat, got, formatVersion)
	}
	if !marked { // creation crashed between the version and the marker
		if err := writeMarker(s.dir); err != nil {
			return err
		}
	}
	h, err := loadHeight(s.db)
	if err != nil {
		return err
	}
	if h > 0 {
		if _, err := readCommitted(s.db, h); err != nil {
			return fmt.Errorf("committed tip at height %d: %w", h, err)
		}
	}
	s.height.Store(h)
	return nil
}

// writeMarker creates the marker file durably: the file and its directory
// entry are both synced.
func writeMarker(dir string) error {
	f, err := os.Create(filepath.Join(dir, markerFile))
	if err != nil {
		return err
	}
	_, err = f.WriteString("bftkit store (package store); do not delete\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", markerFile, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Store) isEmpty() (bool, error) {
	it := s.db.NewIterator(nil, nil)
	defer it.Release()
	found := it.First()
	return !found, it.Error()
}

// loadHeight reads the committed-height marker; none is height 0.
func loadHeight(r reader) (uint64, error) {
	data, err := r.Get(keyHeight, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, readErr(keyHeight, err)
	}
	return decodeHeight(keyHeight, data)
}

// readErr wraps a LevelDB read error other than not-found with the key;
// LevelDB's own corruption reports (a bad block checksum) become ErrCorrupt.
func readErr(key []byte, err error) error {
	if lerrors.IsCorrupted(err) {
		return corruptf(key, "%v", err)
	}
	return fmt.Errorf("store: read %s: %w", keyName(key), err)
}

// Close closes the database. Reads and writes after Close fail.
func (s *Store) Close() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.db.Close()
}
