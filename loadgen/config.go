// Package loadgen submits transactions to bftkit validators at a steady
// rate over the HTTP API and measures how long each one takes to commit,
// by reading the committed chain. `bftkit load` is a thin wrapper around
// Run; the testnet command and the throughput benchmark use it too.
package loadgen

import (
	"crypto/rand"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/bftkit/bftkit/types"
)

// Defaults for the optional Config fields (zero means default).
const (
	DefaultTxSize        = 100
	DefaultBatchInterval = 10 * time.Millisecond
	DefaultDrainTimeout  = 30 * time.Second
	// MinTxSize leaves room for a key that is unique across runs (the
	// default 6-byte prefix and up to 36^7 sequence numbers) plus "=v".
	MinTxSize = 16
	// defaultInFlightPerEndpoint: a batch POST is usually answered within
	// one interval; a few spare slots absorb a slow answer without
	// stalling the schedule.
	defaultInFlightPerEndpoint = 4
	// seqDigits is the room reserved in every key for the sequence
	// number (base 36): enough for 78 billion transactions per run.
	seqDigits = 7
)

// Config describes one load run. Zero values of the optional fields take
// the defaults above.
type Config struct {
	// Endpoints are validators' HTTP APIs, as http://host:port. Batches go
	// to them in turn; the first one is also where the chain is followed.
	Endpoints []string
	// Rate is the target in transactions per second; 0 submits as fast as
	// the nodes accept.
	Rate float64
	// Duration is how long to submit. Following the chain continues after
	// it until every accepted transaction is seen or DrainTimeout passes.
	Duration time.Duration
	// TxSize is the exact size of each transaction in bytes (≥ MinTxSize).
	TxSize int
	// BatchInterval is the pacing tick: each tick sends what the schedule
	// owes as POST /txs batches. Shorter ticks mean smoother load but more
	// requests.
	BatchInterval time.Duration
	// MaxInFlight bounds concurrent POST /txs requests (default 4 per
	// endpoint). It is split evenly among the endpoints, each getting at
	// least one slot, and a request only takes a slot of its own
	// endpoint: a validator that stops answering then holds its own
	// slots, never the others'. An endpoint whose slots are all busy gets
	// no batch; when no endpoint can take one, the rest of the tick is
	// skipped (Result.Skipped) rather than piling up requests on slow
	// nodes.
	MaxInFlight int
	// KeyPrefix starts every key so that this run recognises its own
	// transactions in blocks, and so that runs do not submit the same
	// transactions. Two runs that overlap in time on one chain must never
	// share a prefix: the mempool would refuse one run's transactions as
	// duplicates of the other's, and each run would count the other's
	// commits as its own, with meaningless latencies. Default: random.
	KeyPrefix string
	// DrainTimeout bounds the wait for commits after the submit window
	// (Duration, or until Stop).
	DrainTimeout time.Duration
	// Stop, if set, ends submission early when it is closed, as if
	// Duration had passed: the submit window closes then, and Run drains
	// as usual (bounded by DrainTimeout) and returns a nil error. This is
	// the graceful stop (a first Ctrl-C, say); cancelling Run's context
	// still stops everything at once, drain included. Closing Stop during
	// the drain changes nothing.
	Stop <-chan struct{}
	// Progress, if set, is called about once a second from one goroutine
	// (never concurrently, never after Run returns); it must not block
	// for long.
	Progress func(Snapshot)
}

// FieldError is a Config validation error. Field is named as the flag of
// `bftkit load` (tx-size, max-in-flight...) so the command can report it
// as "--tx-size: ...".
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate reports the first invalid field as a *FieldError.
func (c Config) Validate() error {
	if len(c.Endpoints) == 0 {
		return fieldErr("endpoints", "at least one is required (http://host:port)")
	}
	for _, ep := range c.Endpoints {
		if err := checkEndpoint(ep); err != nil {
			return fieldErr("endpoints", "%q: %v", ep, err)
		}
	}
	switch {
	case math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0:
		return fieldErr("rate", "must be ≥ 0 (0 = as fast as the nodes accept), got %v", c.Rate)
	case c.Duration <= 0:
		return fieldErr("duration", "must be positive, got %s", c.Duration)
	case c.TxSize != 0 && c.TxSize < MinTxSize:
		return fieldErr("tx-size", "must be at least %d bytes, got %d", MinTxSize, c.TxSize)
	case c.TxSize > types.MaxTxBytes:
		return fieldErr("tx-size", "must be at most %d bytes (the node's limit), got %d", types.MaxTxBytes, c.TxSize)
	case c.BatchInterval < 0 || (c.BatchInterval > 0 && c.BatchInterval < time.Millisecond):
		return fieldErr("batch-interval", "must be at least 1ms (0 = %s), got %s", DefaultBatchInterval, c.BatchInterval)
	case c.MaxInFlight < 0:
		return fieldErr("max-in-flight", "must be ≥ 0 (0 = %d per endpoint), got %d", defaultInFlightPerEndpoint, c.MaxInFlight)
	case c.DrainTimeout < 0:
		return fieldErr("drain-timeout", "must be ≥ 0 (0 = %s), got %s", DefaultDrainTimeout, c.DrainTimeout)
	case strings.Contains(c.KeyPrefix, "="):
		return fieldErr("key-prefix", "must not contain '=' (it separates key and value)")
	}
	size := c.TxSize
	if size == 0 {
		size = DefaultTxSize
	}
	if room := size - keyOverhead; len(c.KeyPrefix) > room {
		return fieldErr("key-prefix", "%d bytes is too long for %d-byte transactions (at most %d)", len(c.KeyPrefix), size, room)
	}
	return nil
}

// keyOverhead is what a transaction needs besides the prefix:
// "-" + sequence + "=" + at least one value byte.
const keyOverhead = 1 + seqDigits + 1 + 1

func checkEndpoint(ep string) error {
	u, err := url.Parse(ep)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("want http://host:port")
	case u.Host == "":
		return fmt.Errorf("no host (want http://host:port)")
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("no query or fragment allowed")
	}
	return nil
}

// withDefaults fills the optional fields; call after Validate.
func (c Config) withDefaults() Config {
	eps := make([]string, len(c.Endpoints))
	for i, ep := range c.Endpoints {
		eps[i] = strings.TrimRight(ep, "/")
	}
	c.Endpoints = eps
	if c.TxSize == 0 {
		c.TxSize = DefaultTxSize
	}
	if c.BatchInterval == 0 {
		c.BatchInterval = DefaultBatchInterval
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = defaultInFlightPerEndpoint * len(c.Endpoints)
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = randomPrefix()
	}
	return c
}

// randomPrefix is 6 base-36 characters: 2 billion values, so concurrent
// or repeated runs against one chain practically never collide.
func randomPrefix() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
