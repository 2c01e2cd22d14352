package loadgen

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Result is what a run measured. Submitted ≥ Accepted + Rejected: the
// difference is batches whose answer never came because the run was
// cancelled or the drain ended first. Committed counts this run's transactions seen in blocks;
// Uncommitted the accepted ones never seen before the drain ended.
type Result struct {
	Submitted int `json:"submitted"`
	// Skipped counts transactions the paced schedule owed but never sent
	// (so not in Submitted): debt forgiven after a stall, and ticks no
	// endpoint could take (all backing off or with every slot busy).
	// Non-zero means the offered load fell short of Rate by that much.
	Skipped     int `json:"skipped"`
	Accepted    int `json:"accepted"`
	Rejected    int `json:"rejected"`
	Committed   int `json:"committed"`
	Uncommitted int `json:"uncommitted"`
	// Elapsed is the whole run, drain included (elapsed_ms in JSON).
	Elapsed time.Duration `json:"-"`
	// SubmitRate is Submitted over the submit window: Duration (or up to
	// the last submission, if a late tick submitted after it), or less if
	// stopped or cancelled. CommitRate is Committed over the time from
	// the start to the last commit.
	SubmitRate float64 `json:"submit_rate"`
	CommitRate float64 `json:"commit_rate"`
	// Latency is commit latency, submit to seen in a block (latency_ms in
	// JSON).
	Latency Percentiles `json:"-"`
	// Errors counts rejections and other failures by message (at most 20
	// kinds; the rest are under "(other errors)").
	Errors map[string]int `json:"errors"`
}

// LatencyMs is Percentiles in milliseconds, as the JSON form carries them:
// scripts plotting results want numbers, not Go duration strings.
type LatencyMs struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Ms converts to milliseconds (microsecond precision).
func (p Percentiles) Ms() LatencyMs {
	return LatencyMs{P50: toMs(p.P50), P90: toMs(p.P90), P99: toMs(p.P99), Max: toMs(p.Max)}
}

func toMs(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func fromMs(ms float64) time.Duration { return time.Duration(math.Round(ms * 1e6)) }

// resultFields is Result without its methods, so that the JSON methods
// can embed it without recursing.
type resultFields Result

type resultJSON struct {
	resultFields
	ElapsedMs float64   `json:"elapsed_ms"`
	LatencyMs LatencyMs `json:"latency_ms"`
}

// MarshalJSON adds elapsed_ms and latency_ms to the plain fields.
func (r Result) MarshalJSON() ([]byte, error) {
	if r.Errors == nil {
		r.Errors = map[string]int{} // "errors": {} rather than null
	}
	return json.Marshal(resultJSON{resultFields: resultFields(r), ElapsedMs: toMs(r.Elapsed), LatencyMs: r.Latency.Ms()})
}

// UnmarshalJSON reads what MarshalJSON writes, for tools that compare
// saved results.
func (r *Result) UnmarshalJSON(data []byte) error {
	var w resultJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = Result(w.resultFields)
	r.Elapsed = fromMs(w.ElapsedMs)
	r.Latency = Percentiles{P50: fromMs(w.LatencyMs.P50), P90: fromMs(w.LatencyMs.P90), P99: fromMs(w.LatencyMs.P99), Max: fromMs(w.LatencyMs.Max)}
	return nil
}

// String is a two-line human summary: counts and rates, then latency
// (and the most frequent error, if any).
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "submitted %d (%.1f tx/s)", r.Submitted, r.SubmitRate)
	if r.Skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", r.Skipped)
	}
	fmt.Fprintf(&b, ": %d accepted, %d rejected; committed %d (%.1f tx/s), %d uncommitted; %s elapsed\n",
		r.Accepted, r.Rejected, r.Committed, r.CommitRate, r.Uncommitted, roundDur(r.Elapsed))
	fmt.Fprintf(&b, "commit latency p50 %s, p90 %s, p99 %s, max %s",
		roundDur(r.Latency.P50), roundDur(r.Latency.P90), roundDur(r.Latency.P99), roundDur(r.Latency.Max))
	if msg, n, kinds := topError(r.Errors); n > 0 {
		fmt.Fprintf(&b, "; errors: %q ×%d", msg, n)
		if kinds > 1 {
			fmt.Fprintf(&b, " and %d other kinds", kinds-1)
		}
	}
	return b.String()
}

func topError(errs map[string]int) (msg string, n, kinds int) {
	for _, k := range slices.Sorted(maps.Keys(errs)) { // sorted: ties break the same way every time
		if errs[k] > n {
			msg, n = k, errs[k]
		}
	}
	return msg, n, len(errs)
}

// roundDur keeps three significant-ish digits: 104ms, 1.52s, 850µs.
func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	default:
		return d.Round(10 * time.Microsecond)
	}
}

// Snapshot is a progress report during a run.
type Snapshot struct {
	Elapsed   time.Duration
	Submitted int
	Committed int
	// Skipped is Result.Skipped so far.
	Skipped int
	// CommitRate is commits per second since the previous report.
	CommitRate float64
	// P50 is the median commit latency so far.
	P50 time.Duration
	// Draining is true once submission has stopped and the run only
	// waits for the remaining commits.
	Draining bool
}
