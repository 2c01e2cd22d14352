package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/bftkit/bftkit/types"
	ma "github.com/multiformats/go-multiaddr"
)

// Protocols lists the consensus protocols a node runs.
var Protocols = []string{"hotstuff", "pbft", "raft"}

// Validate checks every field; the error names the first bad key.
func (f *File) Validate() error {
	for _, check := range []func() error{
		f.checkPaths, f.checkListen, f.checkProtocol, f.checkLog, f.checkConsensus, f.checkMempool,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (f *File) checkProtocol() error {
	for _, p := range Protocols {
		if f.Protocol == p {
			return nil
		}
	}
	return fmt.Errorf("protocol: %q is not one of %s", f.Protocol, strings.Join(Protocols, ", "))
}

func (f *File) checkPaths() error {
	for _, p := range []struct{ key, value string }{
		{"genesis_file", f.GenesisFile}, {"key_file", f.KeyFile}, {"data_dir", f.DataDir},
	} {
		if p.value == "" {
			return fmt.Errorf("%s: required", p.key)
		}
	}
	return nil
}

func (f *File) checkListen() error {
	if _, err := ma.NewMultiaddr(f.P2PListen); err != nil {
		return fmt.Errorf("p2p_listen: %q is not a multiaddr like /ip4/127.0.0.1/tcp/26656: %v", f.P2PListen, err)
	}
	if f.HTTPListen != "" {
		_, port, err := net.SplitHostPort(f.HTTPListen)
		if err != nil {
			return fmt.Errorf("http_listen: %q is not host:port: %v", f.HTTPListen, err)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("http_listen: port %q is not a number in 0..65535", port)
		}
	}
	return nil
}

func (f *File) checkLog() error {
	switch f.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not debug, info, warn or error", f.Log.Level)
	}
	if f.Log.Format != "text" && f.Log.Format != "json" {
		return fmt.Errorf("log.format: %q is not text or json", f.Log.Format)
	}
	return nil
}

func (f *File) checkConsensus() error {
	c := f.Consensus
	switch {
	case c.TickInterval.Duration < time.Millisecond:
		return errors.New("consensus.tick_interval: must be at least 1ms")
	case c.ViewTimeout.Duration < 0 || c.MaxViewTimeout.Duration < 0:
		return errors.New("consensus.view_timeout, max_view_timeout: must not be negative (0s keeps the protocol's default)")
	case c.ViewTimeout.Duration > 0 && c.ViewTimeout.Duration < c.TickInterval.Duration:
		return fmt.Errorf("consensus.view_timeout: %s is shorter than one tick (%s)", c.ViewTimeout, c.TickInterval)
	case c.MaxViewTimeout.Duration > 0 && c.MaxViewTimeout.Duration < c.ViewTimeout.Duration:
		return fmt.Errorf("consensus.max_view_timeout: %s is below view_timeout %s", c.MaxViewTimeout, c.ViewTimeout)
	case c.EmptyBlockInterval.Duration < 0:
		return errors.New("consensus.empty_block_interval: must not be negative")
	case c.VerifyWorkers < 0:
		return errors.New("consensus.verify_workers: must not be negative")
	}
	return nil
}

func (f *File) checkMempool() error {
	switch {
	case f.Mempool.MaxTxs <= 0:
		return errors.New("mempool.max_txs: must be positive")
	case f.Mempool.MaxBytes < types.MaxTxBytes:
		return fmt.Errorf("mempool.max_bytes: must hold at least one transaction of the largest size (%d bytes)", types.MaxTxBytes)
	}
	return nil
}
