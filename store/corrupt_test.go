package store

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/syndtr/goleveldb/leveldb"

	"github.com/bftkit/bftkit/types"
)

// dirContents is every file's content except the lock and LevelDB's text
// log, to check that a refused Open left the database untouched.
func dirContents(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := make(map[string][]byte)
	for _, e := range entries {
		if n := e.Name(); n != "LOCK" && !strings.HasPrefix(n, "LOG") {
			data, err := os.ReadFile(filepath.Join(dir, n))
			require.NoError(t, err)
			out[n] = data
		}
	}
	return out
}

// populated is a closed store holding chain(3) committed and chain(5)[3:]
// pending, and the chain.
func populated(t *testing.T) (string, []types.CommittedBlock) {
	t.Helper()
	dir := t.TempDir()
	s := openStore(t, dir)
	c := chain(5)
	require.NoError(t, s.Persist(Batch{SafetyState: []byte("safety"), Blocks: blocksOf(c[3:]), Committed: c[:3]}))
	require.NoError(t, s.Close())
	return dir, c
}

func TestOpenRefusesCorruptDatabase(t *testing.T) {
	garbage := bytes.Repeat([]byte("not a leveldb file "), 64)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		// replayed: LevelDB opens the database, replaying and rewriting its
		// journal, before the store refuses it; the files change.
		replayed bool
	}{
		{"garbage manifest", func(t *testing.T, dir string) {
			ms, err := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
			require.NoError(t, err)
			require.NotEmpty(t, ms)
			for _, m := range ms {
				require.NoError(t, os.WriteFile(m, garbage, 0o644))
			}
		}, false},
		{"garbage CURRENT", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "CURRENT"), garbage, 0o644))
		}, false},
		{"CURRENT names a missing manifest", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "CURRENT"), []byte("MANIFEST-999999\n"), 0o644))
		}, false},
		{"CURRENT deleted", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "CURRENT")))
		}, false},
		{"database files deleted, marker left", func(t *testing.T, dir string) {
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				if e.Name() != markerFile {
					require.NoError(t, os.Remove(filepath.Join(dir, e.Name())))
				}
			}
		}, false},
		// LevelDB drops journal blocks that fail their checksum and opens
		// what is left: here, nothing. The store must not take it for new.
		{"zeroed journal", func(t *testing.T, dir string) {
			logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
			require.NoError(t, err)
			require.NotEmpty(t, logs)
			for _, l := range logs {
				info, err := os.Stat(l)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(l, make([]byte, info.Size()), 0o644))
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := populated(t)
			tc.damage(t, dir)
			before := dirContents(t, dir)

			for range 2 { // refused again, not recreated, on the next attempt
				s, err := Open(dir, Options{})
				if err == nil {
					s.Close()
				}
				require.Error(t, err)
				require.ErrorIs(t, err, ErrCorrupt)
				msg := err.Error()
				require.Contains(t, msg, dir)
				require.Contains(t, msg, "corrupt")
				require.Contains(t, msg, "backup")
				require.Contains(t, msg, "resync")
				if !tc.replayed {
					require.Equal(t, before, dirContents(t, dir), "a refused Open must leave the database as it was")
				}
			}
		})
	}
}

// TestTamperedValues writes bad values with goleveldb directly, under the
// store's keys, and checks that reads report ErrCorrupt naming the key.
func TestTamperedValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock)
		wantKey func(c []types.CommittedBlock) string
		// which of Open, Restore, CommittedBlock(2), BlockByID(target) fail
		open, restore, committed2 bool
		target                    func(c []types.CommittedBlock) types.BlockID
	}{
		{
			name: "pending block whose ID is not its key",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				other, err := fork(4, 9).Marshal()
				require.NoError(t, err)
				require.NoError(t, db.Put(blockKey(c[3].ID), other, nil))
			},
			wantKey: func(c []types.CommittedBlock) string { return keyName(blockKey(c[3].ID)) },
			restore: true,
			target:  func(c []types.CommittedBlock) types.BlockID { return c[3].ID },
		},
		{
			name: "truncated pending block",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				data, err := c[4].Block.Marshal()
				require.NoError(t, err)
				require.NoError(t, db.Put(blockKey(c[4].ID), data[:len(data)-7], nil))
			},
			wantKey: func(c []types.CommittedBlock) string { return keyName(blockKey(c[4].ID)) },
			restore: true,
			target:  func(c []types.CommittedBlock) types.BlockID { return c[4].ID },
		},
		{
			name: "oversized pending block",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				require.NoError(t, db.Put(blockKey(c[4].ID), make([]byte, types.MaxMessageBytes+1), nil))
			},
			wantKey: func(c []types.CommittedBlock) string { return keyName(blockKey(c[4].ID)) },
			restore: true,
			target:  func(c []types.CommittedBlock) types.BlockID { return c[4].ID },
		},
		{
			name: "pending index without its block",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				require.NoError(t, db.Delete(blockKey(c[4].ID), nil))
			},
			wantKey: func(c []types.CommittedBlock) string { return keyName(pendingKey(5, c[4].ID)) },
			restore: true,
		},
		{
			name: "truncated committed record",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				data, err := db.Get(committedKey(2), nil)
				require.NoError(t, err)
				require.NoError(t, db.Put(committedKey(2), data[:len(data)/2], nil))
			},
			wantKey:    func([]types.CommittedBlock) string { return "committed/2" },
			restore:    true,
			committed2: true,
			target:     func(c []types.CommittedBlock) types.BlockID { return c[1].ID },
		},
		{
			name: "committed record shorter than an ID",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				require.NoError(t, db.Put(committedKey(2), []byte{1, 2, 3}, nil))
			},
			wantKey:    func([]types.CommittedBlock) string { return "committed/2" },
			restore:    true,
			committed2: true,
		},
		{
			name: "committed block whose ID is not the record's",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				cb := c[1]
				cb.ID = c[0].ID
				rec, err := encodeCommitted(cb)
				require.NoError(t, err)
				require.NoError(t, db.Put(committedKey(2), rec, nil))
			},
			wantKey:    func([]types.CommittedBlock) string { return "committed/2" },
			restore:    true,
			committed2: true,
		},
		{
			name: "committed block at the wrong height",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				rec, err := encodeCommitted(c[0])
				require.NoError(t, err)
				require.NoError(t, db.Put(committedKey(2), rec, nil))
			},
			wantKey:    func([]types.CommittedBlock) string { return "committed/2" },
			restore:    true,
			committed2: true,
		},
		{
			name: "committed record missing below the tip",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				require.NoError(t, db.Delete(committedKey(2), nil))
			},
			wantKey:    func([]types.CommittedBlock) string { return "committed/2" },
			restore:    true,
			committed2: true,
		},
		{
			name: "height index to a missing block",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				require.NoError(t, db.Put(indexKey(c[0].ID), encodeHeight(7), nil))
			},
			wantKey: func(c []types.CommittedBlock) string { return keyName(indexKey(c[0].ID)) },
			target:  func(c []types.CommittedBlock) types.BlockID { return c[0].ID },
		},
		{
			name: "height index to another block",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				require.NoError(t, db.Put(indexKey(c[0].ID), encodeHeight(3), nil))
			},
			wantKey: func(c []types.CommittedBlock) string { return keyName(indexKey(c[0].ID)) },
			target:  func(c []types.CommittedBlock) types.BlockID { return c[0].ID },
		},
		{
			name: "truncated height index",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				require.NoError(t, db.Put(indexKey(c[0].ID), []byte{0, 1}, nil))
			},
			wantKey: func(c []types.CommittedBlock) string { return keyName(indexKey(c[0].ID)) },
			target:  func(c []types.CommittedBlock) types.BlockID { return c[0].ID },
		},
		{
			name: "truncated committed tip",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				data, err := db.Get(committedKey(3), nil)
				require.NoError(t, err)
				require.NoError(t, db.Put(committedKey(3), data[:40], nil))
			},
			wantKey: func([]types.CommittedBlock) string { return "committed/3" },
			open:    true,
		},
		{
			name: "height marker past the chain",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				require.NoError(t, db.Put(keyHeight, encodeHeight(9), nil))
			},
			wantKey: func([]types.CommittedBlock) string { return "committed/9" },
			open:    true,
		},
		{
			name: "truncated height marker",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				require.NoError(t, db.Put(keyHeight, []byte{3}, nil))
			},
			wantKey: func([]types.CommittedBlock) string { return "committed-height" },
			open:    true,
		},
		{
			name: "oversized safety state",
			tamper: func(t *testing.T, db *leveldb.DB, c []types.CommittedBlock) {
				require.NoError(t, db.Put(keySafety, make([]byte, types.MaxMessageBytes+1), nil))
			},
			wantKey: func([]types.CommittedBlock) string { return "safety-state" },
			restore: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, c := populated(t)
			db, err := leveldb.OpenFile(dir, nil)
			require.NoError(t, err)
			tc.tamper(t, db, c)
			require.NoError(t, db.Close())
			key := tc.wantKey(c)
			corrupt := func(err error) {
				t.Helper()
				require.ErrorIs(t, err, ErrCorrupt)
				require.Contains(t, err.Error(), key)
			}

			s, err := Open(dir, Options{})
			if tc.open {
				require.Error(t, err)
				corrupt(err)
				require.Contains(t, err.Error(), dir)
				return
			}
			require.NoError(t, err)
			defer s.Close()

			_, err = s.Restore(10)
			if tc.restore {
				corrupt(err)
			} else {
				require.NoError(t, err)
			}
			_, err = s.CommittedBlock(2)
			if tc.committed2 {
				corrupt(err)
			} else {
				require.NoError(t, err)
			}
			if tc.target != nil {
				_, err = s.BlockByID(tc.target(c))
				corrupt(err)
			}
		})
	}
}

func TestOpenRefusesUnknownFormat(t *testing.T) {
	for _, tc := range []struct {
		name     string
		version  []byte // nil: delete the version key
		unmarked bool   // delete the marker file
		want     error
		text     string
	}{
		{"newer version", binary.AppendUvarint(nil, formatVersion+1), false, ErrUnknownFormat, "format version 2"},
		{"a store without its version", nil, false, ErrCorrupt, "format version is missing"},
		{"another LevelDB database", nil, true, ErrUnknownFormat, "no format version"},
		{"undecodable version", []byte{0x80}, false, ErrCorrupt, "version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := populated(t)
			if tc.unmarked {
				require.NoError(t, os.Remove(filepath.Join(dir, markerFile)))
			}
			db, err := leveldb.OpenFile(dir, nil)
			require.NoError(t, err)
			if tc.version == nil {
				require.NoError(t, db.Delete(keyVersion, nil))
			} else {
				require.NoError(t, db.Put(keyVersion, tc.version, nil))
			}
			require.NoError(t, db.Close())

			s, err := Open(dir, Options{})
			if err == nil {
				s.Close()
			}
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), tc.text)
			require.Contains(t, err.Error(), dir)
		})
	}
}

func TestOpenErrorIfMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	_, err := Open(dir, Options{ErrorIfMissing: true})
	require.ErrorIs(t, err, os.ErrNotExist)
	_, statErr := os.Stat(dir)
	require.ErrorIs(t, statErr, os.ErrNotExist, "ErrorIfMissing must not create the directory")

	s := openStore(t, dir)
	require.NoError(t, s.Close())
	s, err = Open(dir, Options{ErrorIfMissing: true})
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

func TestOpenRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644))
	_, err := Open(dir, Options{})
	require.Error(t, err)
	require.Contains(t, err.Error(), dir)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no store files created beside foreign ones")
}

func TestOpenTwiceIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	defer s.Close()
	_, err := Open(dir, Options{})
	require.Error(t, err, "LevelDB's lock keeps a second writer out")
}

// TestInterruptedCreation: a creation that crashed after LevelDB made its
// files but before the format version (or the marker) was written opens as
// a new store.
func TestInterruptedCreation(t *testing.T) {
	t.Run("before the version", func(t *testing.T) {
		dir := t.TempDir()
		db, err := leveldb.OpenFile(dir, nil)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		s := openStore(t, dir)
		require.NoError(t, s.Close())
		require.FileExists(t, filepath.Join(dir, markerFile))
	})
	t.Run("before the marker", func(t *testing.T) {
		dir, c := populated(t)
		require.NoError(t, os.Remove(filepath.Join(dir, markerFile)))
		s := openStore(t, dir)
		defer s.Close()
		require.FileExists(t, filepath.Join(dir, markerFile))
		require.Equal(t, uint64(3), s.Height())
		cb, err := s.CommittedBlock(3)
		require.NoError(t, err)
		require.Equal(t, c[2], cb)
	})
}
