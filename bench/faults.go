package bench

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// FaultRun is one fault scenario on real processes: the load measured
// from a settling time after the fault, next to the same protocol and n
// without it.
type FaultRun struct {
	Protocol string `json:"protocol"`
	Nodes    int    `json:"nodes"`
	// Scenario is "none", "kill-leader", "kill-<k>" (the leader and
	// k−1 others), "kill-<k>-backups" (k validators that do not lead)
	// or "silent-<k>" (k validators run the silent behaviour).
	Scenario  string  `json:"scenario"`
	Faulty    []int   `json:"faulty,omitempty"` // the validators killed or silent
	Committed float64 `json:"committed_tx_per_s"`
	Latency   Latency `json:"latency_ms"`
	// Uncommitted counts accepted transactions not committed by the end
	// of the drain.
	Uncommitted int `json:"uncommitted"`
	// P50Ratio and P99Ratio are the latencies over the no-fault run's
	// of the same protocol and n (0 when there is none).
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
}

// LeaderKills is a series of leader kills under load: each kill's commit
// gap, and how long the restarted validator took to rejoin.
type LeaderKills struct {
	Protocol string `json:"protocol"`
	Nodes    int    `json:"nodes"`
	// GapsMs are the longest stretches without a commit at a surviving
	// validator in the seconds after each kill, in kill order.
	GapsMs      []float64 `json:"gaps_ms"`
	MedianGapMs float64   `json:"median_gap_ms"`
	// Rejoin is what RejoinS measures: "proposes" (the restarted
	// validator's first committed proposal, HotStuff) or "caught-up" (its
	// height reaches the others', PBFT and Raft, whose leader does not
	// rotate). -1: not within the bound.
	Rejoin        string    `json:"rejoin"`
	RejoinS       []float64 `json:"rejoin_s"`
	MedianRejoinS float64   `json:"median_rejoin_s"`
}

// FaultReport is the whole `bftkit bench faults` result.
type FaultReport struct {
	Rate        float64       `json:"offered_tx_per_s"`
	Runs        []FaultRun    `json:"runs"`
	LeaderKills []LeaderKills `json:"leader_kills"`
}

// AddRatios fills each run's ratios against the no-fault run of its
// protocol and n.
func (r *FaultReport) AddRatios() {
	for i := range r.Runs {
		run := &r.Runs[i]
		for _, base := range r.Runs {
			if base.Scenario == "none" && base.Protocol == run.Protocol && base.Nodes == run.Nodes &&
				base.Latency.P50 > 0 && base.Latency.P99 > 0 {
				run.P50Ratio, run.P99Ratio = run.Latency.P50/base.Latency.P50, run.Latency.P99/base.Latency.P99
			}
		}
	}
}

// Median is the middle value (the mean of the middle two), or 0 if empty.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// WriteTable prints the runs, then the leader kills.
func (r *FaultReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "protocol\tn\tscenario\tfaulty\tcommitted tx/s\tp50 ms\tp99 ms\tp50 ×\tp99 ×\tuncommitted\t\n")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%v\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%d\t\n", run.Protocol, run.Nodes, run.Scenario,
			run.Faulty, run.Committed, run.Latency.P50, run.Latency.P99, run.P50Ratio, run.P99Ratio, run.Uncommitted)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.LeaderKills) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "protocol\tn\tkills\tmedian gap ms\tgaps ms\trejoin\tmedian rejoin s\t\n")
	for _, k := range r.LeaderKills {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%v\t%s\t%.1f\t\n", k.Protocol, k.Nodes, len(k.GapsMs), k.MedianGapMs,
			rounded(k.GapsMs), k.Rejoin, k.MedianRejoinS)
	}
	return tw.Flush()
}

func rounded(xs []float64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x + 0.5)
	}
	return out
}

// Plot writes p50 and p99 per scenario as a bar chart (PNG and SVG) in
// dir, one group per protocol and n.
func (r *FaultReport) Plot(dir string) ([]string, error) {
	names := make([]string, len(r.Runs))
	p50, p99 := make(plotter.Values, len(r.Runs)), make(plotter.Values, len(r.Runs))
	for i, run := range r.Runs {
		names[i] = fmt.Sprintf("%s n=%d\n%s", run.Protocol, run.Nodes, run.Scenario)
		p50[i], p99[i] = run.Latency.P50, run.Latency.P99
	}
	p, err := latencyChart(fmt.Sprintf("Commit latency with faults (%.0f tx/s offered)", r.Rate), names, p50, p99, vg.Points(8))
	if err != nil {
		return nil, err
	}
	var files []string
	width := vg.Length(max(6, len(r.Runs))) * vg.Inch * 3 / 4
	for _, ext := range []string{"png", "svg"} {
		path := filepath.Join(dir, "faults."+ext)
		if err := p.Save(width, 4*vg.Inch, path); err != nil {
			return nil, fmt.Errorf("bench: save %s: %w", path, err)
		}
		files = append(files, path)
	}
	return files, nil
}
