package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftkit/bftkit/config"
	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/node"
	"github.com/bftkit/bftkit/types"
)

// initOptions describe a testnet to write.
type initOptions struct {
	nodes    int
	out      string
	hosts    []string // one per node, or one for all
	basePort int      // node i: p2p basePort+2i, HTTP basePort+2i+1
	ports    []int    // explicit ports (2 per node), overriding basePort
	protocol string
	chainID  string
	compose  bool
	pprof    bool // debug_pprof in every config
	// viewTimeout, if not zero, is every config's consensus.view_timeout.
	viewTimeout time.Duration
}

func newTestnetInitCmd() *cobra.Command {
	var o initOptions
	var hosts string
	cmd := &cobra.Command{
		Use:   "init --nodes N --out DIR",
		Short: "Write keys, genesis and one config per validator, for a deployment across machines",
		Long: `init writes DIR/genesis.json and, for each validator i, a home directory DIR/node<i>
with config.toml, genesis.json and validator.key. Start a validator with
'bftkit node --home DIR/node<i>' on the machine named by --hosts.

--compose names the hosts node0, node1, ... and writes DIR/docker-compose.yml,
which runs each validator in a container built from the repository's Dockerfile.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if hosts != "" {
				if o.compose && cmd.Flags().Changed("hosts") {
					return fmt.Errorf("--compose names the hosts node0..node%d itself; drop --hosts", o.nodes-1)
				}
				for _, h := range strings.Split(hosts, ",") {
					o.hosts = append(o.hosts, strings.TrimSpace(h))
				}
			}
			if err := writeTestnet(o); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d validator homes under %s\nstart each with: bftkit node --home %s\n",
				o.nodes, o.out, filepath.Join(o.out, "node<i>"))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.nodes, "nodes", 4, "number of validators (n = 3f+1 tolerates f Byzantine)")
	fl.StringVar(&o.out, "out", "", "directory to write (must not exist or be empty)")
	fl.StringVar(&hosts, "hosts", "127.0.0.1", "comma-separated host (IP or DNS name) of each validator, or one for all")
	fl.IntVar(&o.basePort, "base-port", 26656, "validator i listens on base+2i (p2p) and base+2i+1 (HTTP)")
	fl.StringVar(&o.protocol, "protocol", "hotstuff", "consensus protocol: "+strings.Join(config.Protocols, ", "))
	fl.StringVar(&o.chainID, "chain-id", "bftkit-testnet", "the chain ID every signature is bound to")
	fl.BoolVar(&o.compose, "compose", false, "name hosts node0..node<n-1> and write docker-compose.yml")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func (o *initOptions) check() error {
	switch {
	case o.nodes < 1 || o.nodes > types.MaxValidators:
		return fmt.Errorf("--nodes: %d is outside 1..%d", o.nodes, types.MaxValidators)
	case o.out == "":
		return fmt.Errorf("--out: required")
	case o.compose:
		o.hosts = nil
		for i := range o.nodes {
			o.hosts = append(o.hosts, fmt.Sprintf("node%d", i))
		}
	case len(o.hosts) == 1:
		o.hosts = slices.Repeat(o.hosts[:1], o.nodes)
	case len(o.hosts) != o.nodes:
		return fmt.Errorf("--hosts: %d hosts for %d validators (give one per validator, or one for all)", len(o.hosts), o.nodes)
	}
	for i, h := range o.hosts {
		if err := checkHost(h); err != nil {
			return fmt.Errorf("--hosts: host %d (%q): %v", i, h, err)
		}
	}
	if o.ports == nil && (o.basePort < 1 || o.basePort+2*o.nodes > 65536) {
		return fmt.Errorf("--base-port: %d leaves no room for %d validators below 65536", o.basePort, o.nodes)
	}
	if !slices.Contains(config.Protocols, o.protocol) {
		return fmt.Errorf("--protocol: %q is not one of %s", o.protocol, strings.Join(config.Protocols, ", "))
	}
	if entries, err := os.ReadDir(o.out); err == nil && len(entries) > 0 {
		return fmt.Errorf("--out: %s exists and is not empty; refusing to overwrite keys", o.out)
	}
	return nil
}

// ports of validator i: p2p and HTTP.
func (o *initOptions) portsOf(i int) (int, int) {
	if o.ports != nil {
		return o.ports[2*i], o.ports[2*i+1]
	}
	return o.basePort + 2*i, o.basePort + 2*i + 1
}

// writeTestnet generates keys and writes every validator's home.
func writeTestnet(o initOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	keys := make([]*crypto.SecretKey, o.nodes)
	addrs := make([]string, o.nodes)
	for i := range keys {
		sk, err := crypto.GenerateKey()
		if err != nil {
			return err
		}
		keys[i] = sk
		p2pPort, _ := o.portsOf(i)
		addrs[i] = multiaddr(o.hosts[i], p2pPort)
	}
	g, _, err := node.NewGenesis(o.chainID, keys, addrs)
	if err != nil {
		return err
	}
	genesis, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "genesis.json"), genesis, 0o644); err != nil {
		return err
	}
	for i, sk := range keys {
		if err := writeHome(o, i, sk, genesis); err != nil {
			return err
		}
	}
	if o.compose {
		return writeCompose(o)
	}
	return nil
}

func writeHome(o initOptions, i int, sk *crypto.SecretKey, genesis []byte) error {
	home := filepath.Join(o.out, fmt.Sprintf("node%d", i))
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	f := config.Default()
	f.Protocol = o.protocol
	p2pPort, httpPort := o.portsOf(i)
	// Listen where genesis says peers dial; all interfaces for a host that
	// is not loopback (the HTTP API stays on loopback unless in a container,
	// where the port is published to the host's loopback by compose).
	listenHost, httpHost := "127.0.0.1", "127.0.0.1"
	if !isLoopback(o.hosts[i]) {
		listenHost = "0.0.0.0"
	}
	if o.compose {
		httpHost = "0.0.0.0"
	}
	f.P2PListen = multiaddr(listenHost, p2pPort)
	f.HTTPListen = net.JoinHostPort(httpHost, fmt.Sprint(httpPort))
	f.DebugPprof = o.pprof
	f.Consensus.ViewTimeout.Duration = o.viewTimeout
	data, err := f.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(home, config.FileName), data, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(home, "genesis.json"), genesis, 0o644); err != nil {
		return err
	}
	return crypto.SaveKeyFile(filepath.Join(home, "validator.key"), sk)
}

// multiaddr writes host:port as a libp2p multiaddr.
func multiaddr(host string, port int) string {
	if ip := net.ParseIP(host); ip != nil {
		if ip.To4() != nil {
			return fmt.Sprintf("/ip4/%s/tcp/%d", host, port)
		}
		return fmt.Sprintf("/ip6/%s/tcp/%d", host, port)
	}
	return fmt.Sprintf("/dns4/%s/tcp/%d", host, port)
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// hostPattern is a DNS name: letters, digits, '-' and '.'.
var hostPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// checkHost accepts an IP address or a DNS name.
func checkHost(h string) error {
	switch {
	case h == "":
		return fmt.Errorf("empty")
	case net.ParseIP(h) != nil:
		return nil
	case !hostPattern.MatchString(h):
		return fmt.Errorf("not an IP address or a DNS name")
	}
	return nil
}
