package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftkit/bftkit/bench"
	"github.com/bftkit/bftkit/loadgen"
	"github.com/bftkit/bftkit/types"
)

type faultsFlags struct {
	protocols, nodes, out string
	behaviours            string
	rate                  float64
	warmup, settle        time.Duration
	measure               time.Duration
	kills                 int
	json                  bool
	viewTimeout           time.Duration
}

func newBenchFaultsCmd() *cobra.Command {
	var f faultsFlags
	cmd := &cobra.Command{
		Use:   "faults",
		Short: "Latency and throughput with validators killed or silent, on real processes",
		Long: `faults runs local testnets (validator processes on this machine, loopback only)
under a steady load and, for each protocol and n, measures committed tx/s
and commit latency:
  none               no fault
  kill-leader        the leader of the moment (read from /status) SIGKILLed
  kill-<k>           the leader and k-1 others SIGKILLed (k up to f)
  kill-<k>-backups   k validators that do not lead SIGKILLed
  silent-<k>         f validators running the silent behaviour from the start
  byz-<behaviour>    validator 0 running a behaviour of --behaviours
Each is measured from --settle after the fault, for --measure, against the
no-fault run of the same sitting (the p50 × and p99 × columns).

Then, on one more testnet per protocol and n, it kills the leader --kills
times: each time the longest stretch without a commit at a survivor, and
how long the restarted validator takes to propose again (HotStuff) or to
catch up (PBFT, Raft: their leader does not rotate; at the head and still there a second later).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runBenchFaults(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.protocols, "protocols", "hotstuff,pbft", "protocols to measure")
	fl.StringVar(&f.nodes, "nodes", "4,7", "validator counts (n = 3f+1)")
	fl.Float64Var(&f.rate, "rate", 5000, "offered tx/s")
	fl.DurationVar(&f.warmup, "warmup", 3*time.Second, "load before the fault")
	fl.DurationVar(&f.settle, "settle", 5*time.Second, "time after the fault before measuring")
	fl.DurationVar(&f.measure, "measure", 15*time.Second, "measured load per scenario")
	fl.IntVar(&f.kills, "kills", 5, "leader kills per protocol and n (0 skips them)")
	fl.DurationVar(&f.viewTimeout, "view-timeout", 0, "every validator's consensus.view_timeout (0: the protocol's default)")
	fl.StringVar(&f.behaviours, "behaviours", "", "also run validator 0 with each of these Byzantine behaviours (e.g. silent,equivocate,forge-qc,tail-fork)")
	fl.StringVar(&f.out, "out", "", "directory for faults.json and the chart")
	fl.BoolVar(&f.json, "json", false, "print the results as JSON instead of tables")
	return cmd
}

func (f *faultsFlags) check() ([]int, error) {
	ns, err := parseInts(f.nodes)
	if err != nil {
		return nil, fmt.Errorf("--nodes: %w", err)
	}
	for _, n := range ns {
		if n < 4 || n > 16 {
			return nil, fmt.Errorf("--nodes: %d validators; this benchmark runs 4 to 16 on one machine (f ≥ 1 needs n ≥ 4)", n)
		}
	}
	switch {
	case f.rate <= 0 || f.rate > maxRate:
		return nil, fmt.Errorf("--rate: %g tx/s is not in (0, %d]", f.rate, maxRate)
	case f.warmup <= 0 || f.settle < 0 || f.measure <= 0:
		return nil, errors.New("--warmup and --measure must be positive, --settle not negative")
	case f.viewTimeout < 0:
		return nil, errors.New("--view-timeout: must not be negative (0: the protocol's default)")
	case f.kills < 0 || f.kills > 20:
		return nil, fmt.Errorf("--kills: %d is not in 0..20", f.kills)
	}
	return ns, nil
}

// faultScenario is one fault to measure.
type faultScenario struct {
	name      string
	kill      int    // validators to SIGKILL
	leader    bool   // the first killed is the leader of the moment
	silent    int    // validators started silent
	behaviour string // validator 0's Byzantine behaviour, if any
}

// scenariosFor lists the scenarios for n validators: none, each number
// of kills up to f (the leader first), f backups killed, f silent.
func scenariosFor(n int, behaviours []string) []faultScenario {
	f := (n - 1) / 3
	out := []faultScenario{{name: "none"}, {name: "kill-leader", kill: 1, leader: true}}
	for k := 2; k <= f; k++ {
		out = append(out, faultScenario{name: fmt.Sprintf("kill-%d", k), kill: k, leader: true})
	}
	out = append(out,
		faultScenario{name: fmt.Sprintf("kill-%d-backups", f), kill: f},
		faultScenario{name: fmt.Sprintf("silent-%d", f), silent: f})
	for _, b := range behaviours {
		out = append(out, faultScenario{name: "byz-" + b, behaviour: b})
	}
	return out
}

func runBenchFaults(ctx context.Context, stdout, stderr io.Writer, f faultsFlags) error {
	ns, err := f.check()
	if err != nil {
		return err
	}
	protocols, behaviours := splitList(f.protocols), splitList(f.behaviours)
	total := 0
	for _, n := range ns {
		total += len(scenariosFor(n, behaviours)) * len(protocols)
		if f.kills > 0 {
			total += len(protocols)
		}
	}
	rep := bench.FaultReport{Rate: f.rate}
	step := 0
	progress := func(format string, args ...any) {
		fmt.Fprintf(stderr, "[%d/%d] %s\n", step, total, fmt.Sprintf(format, args...))
	}
	for _, p := range protocols {
		for _, n := range ns {
			for _, sc := range scenariosFor(n, behaviours) {
				step++
				progress("%s n=%d %s: starting", p, n, sc.name)
				run, err := faultRun(ctx, p, n, sc, f, func(msg string) { progress("%s n=%d %s: %s", p, n, sc.name, msg) })
				if err != nil {
					return fmt.Errorf("%s n=%d %s: %w", p, n, sc.name, err)
				}
				progress("%s n=%d %s: %.0f tx/s, p50 %.0f ms, p99 %.0f ms", p, n, sc.name, run.Committed, run.Latency.P50, run.Latency.P99)
				rep.Runs = append(rep.Runs, run)
			}
			if f.kills == 0 {
				continue
			}
			step++
			progress("%s n=%d: %d leader kills", p, n, f.kills)
			lk, err := leaderKills(ctx, p, n, f, func(msg string) { progress("%s n=%d leader kills: %s", p, n, msg) })
			if err != nil {
				return fmt.Errorf("%s n=%d leader kills: %w", p, n, err)
			}
			rep.LeaderKills = append(rep.LeaderKills, lk)
		}
	}
	rep.AddRatios()
	if f.out != "" {
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if err := writeFile(filepath.Join(f.out, "faults.json"), func(w io.Writer) error { return writeJSON(w, rep) }); err != nil {
			return err
		}
		if _, err := rep.Plot(f.out); err != nil {
			return err
		}
	}
	if f.json {
		return writeJSON(stdout, rep)
	}
	return rep.WriteTable(stdout)
}

// benchNet starts a fresh local testnet of n validators (the silent ones
// given) and waits until it commits; stop it with the returned function.
func benchNet(ctx context.Context, protocol string, n int, byzantine map[int]string, viewTimeout time.Duration) (*localNet, func(), error) {
	home, cleanup, err := testnetHome("")
	if err != nil {
		return nil, nil, err
	}
	byz := map[types.ValidatorIndex]string{}
	for i, b := range byzantine {
		byz[types.ValidatorIndex(i)] = b
	}
	ln, err := launchTestnet(home, initOptions{nodes: n, protocol: protocol, chainID: "bftkit-bench", viewTimeout: viewTimeout}, byz)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	stop := func() {
		ln.stop(io.Discard)
		cleanup()
	}
	if err := ln.waitReady(ctx, 60*time.Second); err != nil {
		stop()
		return nil, nil, err
	}
	return ln, stop, nil
}

// faultRun measures one scenario on a fresh testnet: warm-up load, the
// fault, settling, then the measured load on the surviving validators.
func faultRun(ctx context.Context, protocol string, n int, sc faultScenario, f faultsFlags, say func(string)) (bench.FaultRun, error) {
	run := bench.FaultRun{Protocol: protocol, Nodes: n, Scenario: sc.name}
	byzantine := map[int]string{}
	for i := range sc.silent {
		byzantine[n-1-i] = "silent"
		run.Faulty = append(run.Faulty, n-1-i)
	}
	if sc.behaviour != "" {
		byzantine[0] = sc.behaviour
		run.Faulty = []int{0}
	}
	ln, stop, err := benchNet(ctx, protocol, n, byzantine, f.viewTimeout)
	if err != nil {
		return run, err
	}
	defer stop()
	victims, err := pickVictims(ctx, ln, sc)
	if err != nil {
		return run, err
	}
	live := liveEndpoints(ln, victims)
	// The warm-up load goes to the validators that survive (a load sent
	// to one about to die would only be lost), and runs through the
	// fault and the settling time; the measured load starts after it.
	warmCtx, stopWarm := context.WithCancel(ctx)
	defer stopWarm()
	warm := make(chan error, 1)
	go func() {
		_, err := loadgen.Run(warmCtx, loadgen.Config{Endpoints: live, Rate: f.rate, Duration: f.warmup + f.settle, DrainTimeout: time.Second})
		warm <- err
	}()
	if err := sleepCtx(ctx, f.warmup); err != nil {
		return run, err
	}
	if len(victims) > 0 {
		if sc.leader {
			// The leader of this moment, which has moved since the pick.
			if l, ok := currentLeader(ctx, live[0], n); ok && !slices.Contains(victims, l) {
				victims[0] = l
				live = liveEndpoints(ln, victims)
			}
		}
		for _, v := range victims {
			ln.killOne(v)
		}
		run.Faulty = victims
		say(fmt.Sprintf("killed %v", victims))
	}
	if err := sleepCtx(ctx, f.settle); err != nil {
		return run, err
	}
	say(fmt.Sprintf("measuring %s", f.measure))
	res, err := loadgen.Run(ctx, loadgen.Config{Endpoints: live, Rate: f.rate, Duration: f.measure, DrainTimeout: 10 * time.Second})
	if err != nil {
		return run, fmt.Errorf("load: %w", err)
	}
	stopWarm()
	<-warm
	run.Committed, run.Uncommitted = res.CommitRate, res.Uncommitted
	run.Latency = bench.Latency{P50: ms(res.Latency.P50), P90: ms(res.Latency.P90), P99: ms(res.Latency.P99)}
	return run, nil
}

// pickVictims chooses the validators a scenario kills: the leader first
// when it asks for it (refreshed at the kill), then the highest indices;
// backups are validators that do not lead at the pick.
func pickVictims(ctx context.Context, ln *localNet, sc faultScenario) ([]int, error) {
	if sc.kill == 0 {
		return nil, nil
	}
	n := len(ln.procs)
	leader, ok := currentLeader(ctx, ln.endpoints[0], n)
	if !ok {
		return nil, errors.New("no validator reports a leader")
	}
	var victims []int
	if sc.leader {
		victims = append(victims, leader)
	}
	for i := n - 1; i >= 0 && len(victims) < sc.kill; i-- {
		if i != leader && i != 0 {
			victims = append(victims, i)
		}
	}
	return victims, nil
}

// currentLeader is the leader a validator reports now.
func currentLeader(ctx context.Context, endpoint string, n int) (int, bool) {
	st, err := loadgen.Status(ctx, endpoint)
	if err != nil || int(st.Leader) >= n {
		return 0, false
	}
	return int(st.Leader), true
}

func liveEndpoints(ln *localNet, dead []int) []string {
	var out []string
	for i, ep := range ln.endpoints {
		if !slices.Contains(dead, i) {
			out = append(out, ep)
		}
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// leaderKills kills the leader of the moment f.kills times on one
// testnet under load, restarting each victim before the next kill.
func leaderKills(ctx context.Context, protocol string, n int, f faultsFlags, say func(string)) (bench.LeaderKills, error) {
	lk := bench.LeaderKills{Protocol: protocol, Nodes: n, Rejoin: "caught-up"}
	if protocol == "hotstuff" {
		lk.Rejoin = "proposes"
	}
	ln, stop, err := benchNet(ctx, protocol, n, nil, f.viewTimeout)
	if err != nil {
		return lk, err
	}
	defer stop()
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	load := make(chan error, 1)
	go func() {
		// Every endpoint: a dead validator's share is refused until it is
		// back, which the gap measurement does not depend on.
		_, err := loadgen.Run(loadCtx, loadgen.Config{Endpoints: ln.endpoints, Rate: f.rate, Duration: time.Hour, DrainTimeout: time.Second})
		load <- err
	}()
	for k := range f.kills {
		if err := sleepCtx(ctx, 2*time.Second); err != nil {
			return lk, err
		}
		observer := (k + 1) % n // any survivor; rotated so that every validator gets killed in turn
		leader, ok := currentLeader(ctx, ln.endpoints[observer], n)
		if !ok {
			return lk, fmt.Errorf("validator %d reports no leader", observer)
		}
		if leader == observer {
			observer = (observer + 1) % n
		}
		ln.killOne(leader)
		gap := longestCommitGap(ctx, ln.endpoints[observer], 5*time.Second)
		lk.GapsMs = append(lk.GapsMs, ms(gap))
		say(fmt.Sprintf("kill %d: leader %d, longest commit gap %.0f ms", k+1, leader, ms(gap)))
		if err := ln.restart(leader); err != nil {
			return lk, err
		}
		rejoin := rejoinTime(ctx, ln, leader, observer, protocol, 30*time.Second)
		lk.RejoinS = append(lk.RejoinS, rejoin.Seconds())
		say(fmt.Sprintf("validator %d restarted; %s after %.1f s", leader, lk.Rejoin, rejoin.Seconds()))
	}
	stopLoad()
	<-load
	lk.MedianGapMs = bench.Median(lk.GapsMs)
	lk.MedianRejoinS = bench.Median(lk.RejoinS)
	return lk, nil
}

// longestCommitGap polls a validator's height for window and returns the
// longest stretch in which it did not grow, counted from the start.
func longestCommitGap(ctx context.Context, endpoint string, window time.Duration) time.Duration {
	start := time.Now()
	last, longest := start, time.Duration(0)
	st, err := loadgen.Status(ctx, endpoint)
	height := st.Height
	for time.Since(start) < window && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
		if st, err = loadgen.Status(ctx, endpoint); err != nil {
			continue
		}
		now := time.Now()
		if st.Height > height {
			longest = max(longest, now.Sub(last))
			height, last = st.Height, now
		}
	}
	return max(longest, time.Since(last))
}

// rejoinSlack is how many blocks behind the observer a restarted
// validator may be and count as caught up (heights move while polled).
const rejoinSlack = 2

// atHead says whether validator v has executed past target and is within
// rejoinSlack blocks of the observer.
func atHead(ctx context.Context, ln *localNet, v, observer int, target uint64) bool {
	own, err := loadgen.Status(ctx, ln.endpoints[v])
	obs, err2 := loadgen.Status(ctx, ln.endpoints[observer])
	return err == nil && err2 == nil && own.Height >= target && own.Height+rejoinSlack >= obs.Height
}

// rejoinTime is how long a restarted validator takes to propose a
// committed block (HotStuff), or to reach the observer's height and stay
// there (PBFT, Raft), or -1 s if not within bound.
func rejoinTime(ctx context.Context, ln *localNet, v, observer int, protocol string, bound time.Duration) time.Duration {
	start := time.Now()
	st, _ := loadgen.Status(ctx, ln.endpoints[observer])
	target, next := st.Height, st.Height+1
	for time.Since(start) < bound && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		if protocol != "hotstuff" {
			// At the head, and still there a second later (a replica alone
			// in a view of its own falls behind between checkpoints): only
			// then can the next kill count on it.
			if atHead(ctx, ln, v, observer, target) {
				at := time.Since(start)
				if sleepCtx(ctx, time.Second) == nil && atHead(ctx, ln, v, observer, target) {
					return at
				}
			}
			continue
		}
		for {
			b, err := loadgen.Block(ctx, ln.endpoints[observer], next)
			if err != nil {
				break
			}
			if int(b.Proposer) == v {
				return time.Since(start)
			}
			next++
		}
	}
	return -time.Second
}
