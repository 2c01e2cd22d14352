package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bftkit/bftkit/hotstuff/hotstuffsim"
	"github.com/bftkit/bftkit/pbft/pbftsim"
	"github.com/bftkit/bftkit/raft/raftsim"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/testnet/toy"
	"github.com/bftkit/bftkit/types"
)

// simProtocols are the engines `bftkit sim` can run, by name.
var simProtocols = map[string]func() *sim.Protocol{
	"raft":      func() *sim.Protocol { return raftsim.Protocol(raftsim.Options{}) },
	"hotstuff":  func() *sim.Protocol { return hotstuffsim.Protocol(hotstuffsim.Options{}) },
	"pbft":      func() *sim.Protocol { return pbftsim.Protocol(pbftsim.Options{}) },
	"sequencer": toy.SequencerProtocol,
	"eager":     toy.EagerProtocol,
}

type simFlags struct {
	protocol   string
	nodes      int
	seeds      int
	seed       uint64
	faults     string
	byzantine  string
	ticks      int
	drop       float64
	delayMax   int
	jsonOutput bool
	// which optional flags were given on the command line
	oneSeed, dropSet, delaySet bool
}

// simSummary is the --json output.
type simSummary struct {
	Protocol         string   `json:"protocol"`
	Nodes            int      `json:"nodes"`
	Seeds            int      `json:"seeds"`
	SafetyViolations int      `json:"safety_violations"`
	LivenessFailures int      `json:"liveness_failures"`
	BlocksCommitted  uint64   `json:"blocks_committed"`
	MsgsPerBlock     float64  `json:"msgs_per_block"`
	BytesPerBlock    float64  `json:"bytes_per_block"`
	FailedSeeds      []uint64 `json:"failed_seeds"`
}

func newSimCmd() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run protocols in the deterministic simulator with random faults",
		Long: "Runs seeded two-phase simulations (a safety phase with faults, then a liveness phase on a healed\n" +
			"network) and checks the safety invariants after every step. Exits non-zero on any violation and\n" +
			"prints the seed that replays it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.oneSeed = cmd.Flags().Changed("seed")
			f.dropSet = cmd.Flags().Changed("drop")
			f.delaySet = cmd.Flags().Changed("delay-max")
			return runSim(cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.protocol, "protocol", "sequencer", "engine to simulate: "+strings.Join(slices.Sorted(maps.Keys(simProtocols)), ", "))
	fl.IntVar(&f.nodes, "nodes", 4, "number of validators")
	fl.IntVar(&f.seeds, "seeds", 100, "number of seeds to run, 1..N")
	fl.Uint64Var(&f.seed, "seed", 0, "run this one seed only (replays a failure)")
	fl.StringVar(&f.faults, "faults", "swarm", "fault profile: "+strings.Join(sim.ProfileNames(), ", ")+" (swarm draws a mix per seed)")
	fl.StringVar(&f.byzantine, "byzantine", "", "Byzantine nodes, e.g. 3=silent,2=duplicate")
	fl.IntVar(&f.ticks, "ticks", 400, "ticks in the safety phase")
	fl.Float64Var(&f.drop, "drop", 0, "override the profile's message drop probability")
	fl.IntVar(&f.delayMax, "delay-max", 0, "override the profile's maximum link delay in ticks")
	fl.BoolVar(&f.jsonOutput, "json", false, "print the summary as one JSON object")
	return cmd
}

func runSim(stdout, stderr io.Writer, f simFlags) error {
	newProtocol, ok := simProtocols[f.protocol]
	if !ok {
		return fmt.Errorf("--protocol: unknown protocol %q (known: %s)", f.protocol, strings.Join(slices.Sorted(maps.Keys(simProtocols)), ", "))
	}
	profile, ok := sim.Profiles[f.faults]
	if !ok {
		return fmt.Errorf("--faults: unknown profile %q (known: %s)", f.faults, strings.Join(sim.ProfileNames(), ", "))
	}
	byz, err := parseByzantine(f.byzantine)
	if err != nil {
		return err
	}
	seeds := seedList(f)
	if len(seeds) == 0 {
		return errors.New("--seeds: must be at least 1")
	}
	p := newProtocol()
	sum := simSummary{Protocol: f.protocol, Nodes: f.nodes, Seeds: len(seeds), FailedSeeds: []uint64{}}
	var sent, bytes uint64
	for k, seed := range seeds {
		cfg := sim.DefaultConfig(p, f.nodes, seed)
		cfg.Faults = profile(seed)
		if f.dropSet {
			cfg.Faults.Link.Drop = f.drop
		}
		if f.delaySet {
			cfg.Faults.Link.DelayMax = f.delayMax
		}
		cfg.Byzantine = byz
		cfg.SafetyTicks = f.ticks
		res, err := sim.Run(cfg)
		if err != nil {
			return err
		}
		sum.BlocksCommitted += res.Blocks
		total := res.Counters.Total()
		sent, bytes = sent+total.Sent, bytes+total.Bytes
		reportSeed(stderr, &sum, res)
		if !f.jsonOutput && (k+1)%max(len(seeds)/10, 1) == 0 {
			fmt.Fprintf(stderr, "... %d/%d seeds, %d safety violations, %d liveness failures\n", k+1, len(seeds), sum.SafetyViolations, sum.LivenessFailures)
		}
	}
	if sum.BlocksCommitted > 0 {
		sum.MsgsPerBlock = float64(sent) / float64(sum.BlocksCommitted)
		sum.BytesPerBlock = float64(bytes) / float64(sum.BlocksCommitted)
	}
	printSummary(stdout, sum, f.jsonOutput)
	if len(sum.FailedSeeds) > 0 {
		return fmt.Errorf("%d of %d seeds failed: %v", len(sum.FailedSeeds), len(seeds), sum.FailedSeeds)
	}
	return nil
}

func seedList(f simFlags) []uint64 {
	if f.oneSeed {
		return []uint64{f.seed}
	}
	var out []uint64
	for s := 1; s <= f.seeds; s++ {
		out = append(out, uint64(s))
	}
	return out
}

func reportSeed(stderr io.Writer, sum *simSummary, res sim.Result) {
	switch {
	case res.Violation != nil:
		sum.SafetyViolations++
		fmt.Fprintln(stderr, res.Violation.Error())
	case res.LivenessFailure != "":
		sum.LivenessFailures++
		fmt.Fprintf(stderr, "seed %d: %s\n", res.Seed, res.LivenessFailure)
	default:
		return
	}
	sum.FailedSeeds = append(sum.FailedSeeds, res.Seed)
}

func printSummary(w io.Writer, sum simSummary, asJSON bool) {
	if asJSON {
		data, _ := json.Marshal(sum)
		fmt.Fprintln(w, string(data))
		return
	}
	fmt.Fprintf(w, "protocol %s, n = %d: %d runs, %d safety violations, %d liveness failures, %d blocks committed, %.1f msgs/block, %.0f bytes/block\n",
		sum.Protocol, sum.Nodes, sum.Seeds, sum.SafetyViolations, sum.LivenessFailures, sum.BlocksCommitted, sum.MsgsPerBlock, sum.BytesPerBlock)
}

// parseByzantine reads "3=silent,2=duplicate".
func parseByzantine(s string) (map[types.ValidatorIndex]string, error) {
	out := make(map[types.ValidatorIndex]string)
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		idx, name, ok := strings.Cut(strings.TrimSpace(part), "=")
		i, err := strconv.ParseUint(idx, 10, 32)
		if !ok || err != nil || name == "" {
			return nil, fmt.Errorf("--byzantine: %q is not NODE=BEHAVIOUR (e.g. 3=silent)", part)
		}
		if _, dup := out[types.ValidatorIndex(i)]; dup {
			return nil, fmt.Errorf("--byzantine: node %d is listed twice", i)
		}
		out[types.ValidatorIndex(i)] = name
	}
	return out, nil
}
