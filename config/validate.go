package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	ma "github.com/multiformats/go-multiaddr"
)

// Protocols lists the consensus protocols a node runs.
var Protocols = []string{"hotstuff"}

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
	for key, v := range map[string]string{"genesis_file": f.GenesisFile, "key_file": f.KeyFile, "data_dir": f.DataDir} {
		if v == "" {
			return fmt.Errorf("%s: required", key)
		}
	}
	return nil
}

func (f *File) checkListen() error {
	if _, err := ma.NewMultiaddr(f.P2PListen); err != nil {
		return fmt.Errorf("p2p_listen: %q is not a multiaddr like /ip4/127.0.0.1/tcp/26656: %v", f.P2PListen, err)
	}
	if f.HTTPListen != "" {
		if _, _, err := net.SplitHostPort(f.HTTPListen); err != nil {
			return fmt.Errorf("http_listen: %q is not host:port: %v", f.HTTPListen, err)
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
	case f.Mempool.MaxBytes <= 0:
		return errors.New("mempool.max_bytes: must be positive")
	}
	return nil
}
