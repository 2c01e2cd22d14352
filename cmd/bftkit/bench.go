package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/bftkit/bftkit/bench"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the protocols: message complexity in the simulator, throughput and faults on real processes",
	}
	cmd.AddCommand(newBenchComplexityCmd(), newBenchThroughputCmd(), newBenchFaultsCmd())
	return cmd
}

type complexityFlags struct {
	protocols, ns, out string
	blocks             uint64
	json               bool
}

func newBenchComplexityCmd() *cobra.Command {
	var f complexityFlags
	cmd := &cobra.Command{
		Use:   "complexity",
		Short: "Messages, bytes and signatures per committed block against n, in the deterministic simulator",
		Long: "Runs each protocol at each n in the simulator on a calm network (steady state) and once with the\n" +
			"block proposer crashed (a view change, new primary or election), and reports per committed block:\n" +
			"messages, bytes, signatures made and verified, certificate bytes and transaction bytes. Fits the\n" +
			"growth exponent of messages in n per protocol, prints a table, and with --out writes CSV, JSON and\n" +
			"log-log plots (PNG and SVG).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchComplexity(cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.protocols, "protocols", strings.Join(bench.ProtocolNames(), ","), "protocols to measure")
	fl.StringVar(&f.ns, "n", "4,7,10,16,31,64,100", "validator counts")
	fl.Uint64Var(&f.blocks, "blocks", 16, "blocks measured per run, after warm-up")
	fl.StringVar(&f.out, "out", "", "directory for complexity.csv, complexity.json and the plots")
	fl.BoolVar(&f.json, "json", false, "print the report as JSON instead of a table")
	return cmd
}

func runBenchComplexity(stdout, stderr io.Writer, f complexityFlags) error {
	protocols := splitList(f.protocols)
	ns, err := parseInts(f.ns)
	if err != nil {
		return fmt.Errorf("--n: %w", err)
	}
	if f.blocks < 1 {
		return errors.New("--blocks: must be at least 1")
	}
	bar := progressbar.NewOptions(len(protocols)*len(ns)*2, progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetWidth(30), progressbar.OptionSetDescription("simulating"))
	points, err := bench.RunComplexity(bench.Config{Protocols: protocols, Ns: ns, Blocks: f.blocks,
		Progress: func(p bench.Point) {
			bar.Describe(fmt.Sprintf("%s n=%d %s", p.Protocol, p.N, p.Scenario))
			_ = bar.Add(1)
		}})
	_ = bar.Finish()
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	r := bench.NewReport(points)
	if f.out != "" {
		if err := writeComplexityFiles(r, f.out); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", f.out)
	}
	if f.json {
		return r.WriteJSON(stdout)
	}
	return r.WriteTable(stdout)
}

func writeComplexityFiles(r bench.Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for name, write := range map[string]func(io.Writer) error{"complexity.csv": r.WriteCSV, "complexity.json": r.WriteJSON} {
		if err := writeFile(filepath.Join(dir, name), write); err != nil {
			return err
		}
	}
	_, err := r.Plot(dir)
	return err
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

type throughputFlags struct {
	protocols, rate, out string
	nodes                int
	duration             time.Duration
	json                 bool
}

// maxRate is what --rate max offers: more than any protocol commits on
// one machine, so each runs saturated.
const maxRate = 50_000

func newBenchThroughputCmd() *cobra.Command {
	var f throughputFlags
	cmd := &cobra.Command{
		Use:   "throughput",
		Short: "Committed tx/s and commit latency per protocol, on real processes (bftkit testnet)",
		Long: "Runs `bftkit testnet --protocol P --load-rate R --duration D --json` for each protocol in turn (four\n" +
			"validator processes and the load generator on this machine, loopback only) and reports committed\n" +
			"transactions per second and latency percentiles, with --out as JSON and bar charts.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// SIGINT or SIGTERM stops the testnet under way (it drains and
			// stops its validators) rather than leaving it running.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runBenchThroughput(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.protocols, "protocols", strings.Join(bench.ProtocolNames(), ","), "protocols to measure")
	fl.IntVar(&f.nodes, "nodes", 4, "validators")
	fl.DurationVar(&f.duration, "duration", 15*time.Second, "load per protocol")
	fl.StringVar(&f.rate, "rate", "2000", "offered tx/s, or max (saturate)")
	fl.StringVar(&f.out, "out", "", "directory for throughput.json and the charts")
	fl.BoolVar(&f.json, "json", false, "print the results as JSON instead of a table")
	return cmd
}

func runBenchThroughput(ctx context.Context, stdout, stderr io.Writer, f throughputFlags) error {
	rate, saturate, err := parseRate(f.rate)
	if err != nil {
		return err
	}
	if f.duration <= 0 || f.nodes < 1 {
		return errors.New("--duration and --nodes must be positive")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: cannot find the bftkit binary: %w", err)
	}
	var rows []bench.Throughput
	for _, p := range splitList(f.protocols) {
		fmt.Fprintf(stderr, "%s: %d validators, %s at %s tx/s...\n", p, f.nodes, f.duration, f.rate)
		row, err := throughputRun(ctx, self, p, f.nodes, rate, f.duration)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if saturate {
			row.Offered = 0
		}
		rows = append(rows, row)
	}
	if f.out != "" {
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if err := writeFile(filepath.Join(f.out, "throughput.json"), func(w io.Writer) error { return writeJSON(w, rows) }); err != nil {
			return err
		}
		if _, err := bench.PlotThroughput(rows, f.out); err != nil {
			return err
		}
	}
	if f.json {
		return writeJSON(stdout, rows)
	}
	return bench.WriteThroughputTable(stdout, rows)
}

// throughputRun runs one protocol's testnet as a child process and reads
// its JSON summary.
func throughputRun(ctx context.Context, self, protocol string, nodes int, rate float64, d time.Duration) (bench.Throughput, error) {
	cmd := exec.CommandContext(ctx, self, "testnet", "--protocol", protocol, "--nodes", strconv.Itoa(nodes),
		"--load-rate", strconv.FormatFloat(rate, 'f', -1, 64), "--duration", d.String(), "--json")
	// On cancellation, interrupt the testnet so it stops its validators,
	// and kill it only if it has not finished 30 s later.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return bench.Throughput{}, fmt.Errorf("bftkit testnet: %w; its last output:\n%s", err, lastLines(errOut.String(), 5))
	}
	var sum testnetSummary
	if err := json.Unmarshal([]byte(out.String()), &sum); err != nil || sum.Load == nil {
		return bench.Throughput{}, fmt.Errorf("bftkit testnet printed no summary: %v", err)
	}
	l := sum.Load
	return bench.Throughput{Protocol: protocol, Nodes: nodes, Offered: rate, Committed: l.CommitRate,
		Latency: bench.Latency{P50: ms(l.Latency.P50), P90: ms(l.Latency.P90), P99: ms(l.Latency.P99)},
		Refused: l.Rejected, Agree: sum.Agree, BlockHeight: sum.CommonHeight}, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// parseRate reads --rate: a number, or max (saturate: offer maxRate).
func parseRate(s string) (rate float64, saturate bool, err error) {
	if s == "max" {
		return maxRate, true, nil
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || r <= 0 {
		return 0, false, fmt.Errorf("--rate: %q is not a positive number or max", s)
	}
	return r, false, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", p)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no values")
	}
	return out, nil
}
