package mempool

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())
	require.Equal(t, types.MaxTxBytes, cfg.MaxTxBytes)
}

func TestConfigValidateNamesTheBadField(t *testing.T) {
	cases := []struct {
		field  string
		mutate func(*Config)
	}{
		{"MaxTxs", func(c *Config) { c.MaxTxs = 0 }},
		{"MaxBytes", func(c *Config) { c.MaxBytes = -1 }},
		{"MaxTxBytes", func(c *Config) { c.MaxTxBytes = 0 }},
		{"MaxGossipBatchTxs", func(c *Config) { c.MaxGossipBatchTxs = 0 }},
		{"MaxGossipBatchBytes", func(c *Config) { c.MaxGossipBatchBytes = 0 }},
		{"OutcomeCacheSize", func(c *Config) { c.OutcomeCacheSize = 0 }},
		{"MaxRecheckPerUpdate", func(c *Config) { c.MaxRecheckPerUpdate = 0 }},
		{"MaxSubscribers", func(c *Config) { c.MaxSubscribers = 0 }},
		{"MaxTxBytes = 65537 exceeds types.MaxTxBytes", func(c *Config) { c.MaxTxBytes = types.MaxTxBytes + 1 }},
		{"MaxTxBytes = 1000 exceeds MaxBytes", func(c *Config) { c.MaxTxBytes, c.MaxBytes = 1000, 999 }},
		{"exceeds MaxGossipBatchBytes", func(c *Config) { c.MaxTxBytes, c.MaxGossipBatchBytes = 1000, 999 }},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			require.ErrorContains(t, err, tc.field)
			_, err = New(cfg, newFakeChecker())
			require.ErrorContains(t, err, tc.field, "New validates too")
		})
	}
}

func TestNewRejectsNilChecker(t *testing.T) {
	_, err := New(DefaultConfig(), nil)
	require.ErrorContains(t, err, "nil checker")
}
