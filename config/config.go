// Package config is a validator's home directory: its layout, and the
// config.toml file with documented defaults. `bftkit testnet init` writes
// homes; `bftkit node --home` reads one.
//
//	HOME/config.toml     this file
//	HOME/genesis.json    the chain (shared by every validator)
//	HOME/validator.key   the validator's BLS key (0600)
//	HOME/data/blocks     the block store (LevelDB)
//	HOME/data/app        the kvstore application's state (LevelDB)
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// FileName is the config file's name inside a home directory.
const FileName = "config.toml"

// maxConfigBytes bounds the config file: it is small, and a huge file is a
// mistake, not a configuration.
const maxConfigBytes = 1 << 20

// File is config.toml. Relative paths are relative to the home directory.
type File struct {
	Protocol    string `toml:"protocol" comment:"Consensus protocol: hotstuff, pbft, or raft (crash-fault only, for comparison). Every validator of a chain must run the same one."`
	GenesisFile string `toml:"genesis_file" comment:"The chain's genesis (validators, chain ID, app state)."`
	KeyFile     string `toml:"key_file" comment:"This validator's BLS key; its public key must be in genesis."`
	DataDir     string `toml:"data_dir" comment:"Block store and application state live here."`
	P2PListen   string `toml:"p2p_listen" comment:"libp2p listen multiaddr; other validators dial the address genesis lists."`
	HTTPListen  string `toml:"http_listen" comment:"HTTP API and /metrics (host:port). Empty disables it. Keep it on loopback unless a proxy guards it."`
	Byzantine   string `toml:"byzantine" comment:"For experiments only: run this validator with a Byzantine behaviour (e.g. silent, equivocate). Empty is honest."`
	DebugPprof  bool   `toml:"debug_pprof" comment:"Serve Go's profiler at /debug/pprof/ on http_listen. For diagnosis only: it shows internals and costs CPU while a profile runs."`

	Log       Log       `toml:"log"`
	Consensus Consensus `toml:"consensus"`
	Mempool   Mempool   `toml:"mempool"`
}

// Log configures structured logging.
type Log struct {
	Level  string `toml:"level" comment:"debug, info, warn or error."`
	Format string `toml:"format" comment:"text or json."`
}

// Consensus holds the timing of the engine and the node around it.
type Consensus struct {
	TickInterval       Duration `toml:"tick_interval" comment:"Length of one engine tick: the resolution of every timeout (they are rounded up to whole ticks)."`
	ViewTimeout        Duration `toml:"view_timeout" comment:"How long a view (HotStuff), a primary (PBFT) or a leader (Raft's election timeout) gets before validators move on. 0s: the protocol's default (HotStuff 300ms, which also stretches to 4x the slowest recent view; PBFT and Raft 500ms). A crashed leader costs HotStuff about two of these."`
	MaxViewTimeout     Duration `toml:"max_view_timeout" comment:"Cap of the view timeout's back-off (it doubles while views keep failing, so that views outlast any delay once the network is stable). 0s: 16x view_timeout."`
	EmptyBlockInterval Duration `toml:"empty_block_interval" comment:"How long an idle leader waits before proposing an empty block. Keep it below half the view timeout."`
	VerifyWorkers      int      `toml:"verify_workers" comment:"Concurrent signature verifications; 0 means one per CPU."`
}

// Mempool bounds the transaction pool.
type Mempool struct {
	MaxTxs     int    `toml:"max_txs" comment:"Transactions waiting at most; beyond, submissions get 'mempool full'."`
	MaxBytes   int    `toml:"max_bytes" comment:"Bytes of waiting transactions at most."`
	TTLHeights uint64 `toml:"ttl_heights" comment:"Drop a transaction not proposed within this many blocks (0: never)."`
}

// Duration is a time.Duration written as a string ("50ms") in TOML.
type Duration struct{ time.Duration }

// MarshalText writes the duration as Go's String form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 50ms or 1s", b)
	}
	d.Duration = v
	return nil
}

// Default is the configuration `testnet init` writes, before addresses.
func Default() File {
	return File{
		Protocol:    "hotstuff",
		GenesisFile: "genesis.json",
		KeyFile:     "validator.key",
		DataDir:     "data",
		P2PListen:   "/ip4/127.0.0.1/tcp/26656",
		HTTPListen:  "127.0.0.1:26657",
		Log:         Log{Level: "info", Format: "text"},
		Consensus: Consensus{
			TickInterval:       Duration{50 * time.Millisecond},
			EmptyBlockInterval: Duration{100 * time.Millisecond},
		},
		Mempool: Mempool{MaxTxs: 50_000, MaxBytes: 64 << 20, TTLHeights: 1000},
	}
}

// Load reads and validates HOME/config.toml. Unknown keys are errors (a
// misspelt key must not be silently ignored), and every error names the
// file and the key.
func Load(home string) (*File, error) {
	path := filepath.Join(home, FileName)
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse decodes and validates config TOML.
func Parse(data []byte) (*File, error) {
	f := Default()
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, describe(err)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// describe turns go-toml's errors into one line that names the key.
func describe(err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		var keys []string
		for _, e := range strict.Errors {
			keys = append(keys, strings.Join(e.Key(), "."))
		}
		return fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		key := strings.Join(de.Key(), ".")
		if key != "" {
			return fmt.Errorf("%s (line %d, column %d): %s", key, row, col, de.Error())
		}
		return fmt.Errorf("line %d, column %d: %s", row, col, de.Error())
	}
	return err
}

func readBounded(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("config %s: larger than %d bytes", path, maxConfigBytes)
	}
	return data, nil
}

// Path resolves a path of the config relative to home.
func Path(home, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(home, p)
}

// Marshal writes f as TOML with each key's documentation as a comment.
func (f *File) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# bftkit validator configuration. Paths are relative to this file's directory.\n\n")
	enc := toml.NewEncoder(&buf)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
