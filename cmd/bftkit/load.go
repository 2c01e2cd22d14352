package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/bftkit/bftkit/loadgen"
)

// loadOptions are `bftkit load`'s flags; their names match
// loadgen.FieldError's so that a config error can name the flag.
type loadOptions struct {
	endpoints     []string
	rate          float64
	duration      time.Duration
	txSize        int
	batchInterval time.Duration
	maxInFlight   int
	keyPrefix     string
	drainTimeout  time.Duration
	json          bool
}

func newLoadCmd() *cobra.Command {
	var o loadOptions
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Submit key=value transactions at a steady rate and measure commit latency",
		Long: `load submits unique key=value transactions to validators' HTTP APIs (POST /txs
batches, round-robin over --endpoints) at --rate for --duration, follows the
committed chain on the first endpoint, and reports how many committed and how
long they took (p50/p90/p99/max from submit to commit). After --duration it
waits up to --drain-timeout for the last commits. Ctrl-C stops early and still
prints what was measured.`,
		Example: "  bftkit load --endpoints http://127.0.0.1:26657,http://127.0.0.1:26659 --rate 2000 --duration 30s",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runLoad(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&o.endpoints, "endpoints", []string{"http://127.0.0.1:26657"}, "validators' HTTP APIs, comma-separated; the chain is followed on the first")
	fl.Float64Var(&o.rate, "rate", 1000, "transactions per second (0 = as fast as the nodes accept)")
	fl.DurationVar(&o.duration, "duration", 10*time.Second, "how long to submit")
	fl.IntVar(&o.txSize, "tx-size", loadgen.DefaultTxSize, fmt.Sprintf("bytes per transaction (at least %d)", loadgen.MinTxSize))
	fl.DurationVar(&o.batchInterval, "batch-interval", loadgen.DefaultBatchInterval, "pacing tick: each sends what the rate owes as POST /txs batches")
	fl.IntVar(&o.maxInFlight, "max-in-flight", 0, "bound on concurrent requests (0 = 4 per endpoint)")
	fl.StringVar(&o.keyPrefix, "key-prefix", "", "prefix of every key (default random, so runs never collide)")
	fl.DurationVar(&o.drainTimeout, "drain-timeout", loadgen.DefaultDrainTimeout, "how long to wait for commits after --duration")
	fl.BoolVar(&o.json, "json", false, "print the result as one JSON object on stdout, without a progress bar")
	return cmd
}

func runLoad(ctx context.Context, o loadOptions, stdout, stderr io.Writer) error {
	cfg := loadgen.Config{
		Endpoints: o.endpoints, Rate: o.rate, Duration: o.duration, TxSize: o.txSize,
		BatchInterval: o.batchInterval, MaxInFlight: o.maxInFlight, KeyPrefix: o.keyPrefix,
		DrainTimeout: o.drainTimeout,
	}
	// Validate before drawing anything, so a typo fails with just the error.
	if err := cfg.Validate(); err != nil {
		return asFlagError(err)
	}
	// The bar appears with the first report, a second in, so an
	// unreachable endpoint fails with just the error. Run calls Progress
	// from one goroutine and has stopped it before returning.
	var bar *progressbar.ProgressBar
	if !o.json {
		cfg.Progress = func(s loadgen.Snapshot) {
			if bar == nil {
				bar = newLoadBar(stderr, o.duration)
			}
			showLoadProgress(bar, o.duration, s)
		}
	}
	res, err := loadgen.Run(ctx, cfg)
	if bar != nil {
		_ = bar.Exit()
		fmt.Fprintln(stderr)
	}
	interrupted := err != nil && ctx.Err() != nil
	if err != nil && !interrupted {
		return asFlagError(err)
	}
	if o.json {
		data, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(data))
	} else {
		fmt.Fprintln(stdout, res.String())
	}
	if interrupted {
		fmt.Fprintln(stderr, "load: stopped early; the numbers cover the run until then")
	}
	return nil
}

// asFlagError turns "rate: must be ≥ 0" into "--rate: must be ≥ 0": the
// user typed flags, not Config fields.
func asFlagError(err error) error {
	var fe *loadgen.FieldError
	if errors.As(err, &fe) {
		return fmt.Errorf("--%s: %s", fe.Field, fe.Msg)
	}
	return err
}

// newLoadBar draws elapsed time against --duration, in milliseconds so
// that short runs move too.
func newLoadBar(w io.Writer, d time.Duration) *progressbar.ProgressBar {
	return progressbar.NewOptions64(max(d.Milliseconds(), 1),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(false),
	)
}

func showLoadProgress(bar *progressbar.ProgressBar, d time.Duration, s loadgen.Snapshot) {
	elapsed := min(s.Elapsed, d)
	desc := fmt.Sprintf("%s/%s %6.0f tx/s committed, p50 %-6s ",
		elapsed.Round(time.Second), d, s.CommitRate, s.P50.Round(time.Millisecond))
	if s.Draining {
		desc = fmt.Sprintf("draining: %d of %d committed ", s.Committed, s.Submitted)
	}
	bar.Describe(desc)
	_ = bar.Set64(elapsed.Milliseconds())
}
