package raft

import (
	"errors"
	"strings"
	"testing"
)

// TestNewValidatesConfig checks that New refuses every Config it cannot run
// with, a missing seeded source first among them, and takes the defaults
// once Rand is set.
func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(c *Config)
		wantErr string // "" for none
	}{
		{"defaults with a seeded source", func(c *Config) {}, ""},
		{"no seeded source", func(c *Config) { c.Rand = nil }, ErrNoRand.Error()},
		{"node outside the set", func(c *Config) { c.ID = 3 }, "node 3 is not among 3"},
		{"empty set", func(c *Config) { c.ID, c.N = 0, 0 }, "not among 0"},
		{"heartbeat of 0 ticks", func(c *Config) { c.HeartbeatTicks = 0 }, "must exceed heartbeat ticks"},
		{"election no longer than the heartbeat", func(c *Config) { c.ElectionTicks = c.HeartbeatTicks }, "must exceed heartbeat ticks"},
		{"no transactions per block", func(c *Config) { c.MaxTxs = 0 }, "must be positive"},
		{"no bytes per block", func(c *Config) { c.MaxBytes = 0 }, "must be positive"},
		{"no block in flight", func(c *Config) { c.MaxInFlight = 0 }, "must be positive"},
		{"no entries retained", func(c *Config) { c.RetainEntries = 0 }, "must be positive"},
		{"no committed blocks retained", func(c *Config) { c.RetainCommitted = 0 }, "must be positive"},
		{"no message size", func(c *Config) { c.MaxSizePerMsg = 0 }, "must be positive"},
		{"no messages in flight", func(c *Config) { c.MaxInflightMsgs = 0 }, "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(1, 3, 1)
			tt.edit(&cfg)
			e, err := New(cfg, Restored{})
			if tt.wantErr == "" {
				if err != nil || e == nil {
					t.Fatalf("New = %v, %v; want an engine", e, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestDefaultConfigLeavesRandToTheCaller checks that the defaults alone do
// not build an engine: there is no unseeded fallback.
func TestDefaultConfigLeavesRandToTheCaller(t *testing.T) {
	if _, err := New(DefaultConfig(0, 3), Restored{}); !errors.Is(err, ErrNoRand) {
		t.Fatalf("New(DefaultConfig) = %v, want ErrNoRand", err)
	}
}
