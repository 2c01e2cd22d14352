package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The configured view timeout becomes whole ticks, rounded up; zero keeps
// the protocol's default, and the cap defaults to sixteen times the base.
func TestViewTimeoutBecomesTicks(t *testing.T) {
	for name, tc := range map[string]struct {
		protocol          string
		timeout, cap      time.Duration
		wantBase, wantMax int
	}{
		"hotstuff default": {ProtocolHotStuff, 0, 0, 6, 96},
		"pbft default":     {ProtocolPBFT, 0, 0, 10, 160},
		"raft default":     {ProtocolRaft, 0, 0, 10, 160},
		"rounded up":       {ProtocolHotStuff, 120 * time.Millisecond, 0, 3, 48},
		"explicit cap":     {ProtocolPBFT, time.Second, 3 * time.Second, 20, 60},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Protocol, cfg.TickInterval = tc.protocol, 50*time.Millisecond
			cfg.ViewTimeout, cfg.MaxViewTimeout = tc.timeout, tc.cap
			require.Equal(t, timing{base: tc.wantBase, max: tc.wantMax}, timingOf(&cfg))
		})
	}
}
