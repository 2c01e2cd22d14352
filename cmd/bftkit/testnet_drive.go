package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bftkit/bftkit/loadgen"
)

// testnetSummary is the final report of a testnet run (--json prints it).
type testnetSummary struct {
	Protocol string  `json:"protocol"`
	Seconds  float64 `json:"seconds"`
	// CommonHeight is the highest height every answering honest validator
	// had executed at the end; Nodes report their block ID and app hash
	// there, and Agree says whether all honest ones hold the same.
	CommonHeight uint64          `json:"common_height"`
	Agree        bool            `json:"agree"`
	Dissent      []int           `json:"dissent,omitempty"` // honest validators whose block or app hash differs from the first's
	Nodes        []nodeSummary   `json:"nodes"`
	Load         *loadgen.Result `json:"load,omitempty"`
}

type nodeSummary struct {
	Validator int    `json:"validator"`
	Byzantine string `json:"byzantine,omitempty"`
	AppHeight uint64 `json:"app_height"` // executed height at the end
	View      uint64 `json:"view"`
	BlockID   string `json:"block_id"` // at CommonHeight
	AppHash   string `json:"app_hash"` // after CommonHeight
	Error     string `json:"error,omitempty"`
}

// driveTestnet runs the load (if any) and the status lines until ctx ends
// or the duration passes, then gathers the summary.
func driveTestnet(ctx context.Context, o testnetOptions, ln *localNet, stderr io.Writer) (testnetSummary, error) {
	start := time.Now()
	var latest atomic.Pointer[loadgen.Snapshot]
	var status sync.WaitGroup
	statusCtx, stopStatus := context.WithCancel(ctx)
	if !o.json {
		status.Go(func() { printStatusLines(statusCtx, ln, &latest, stderr) })
	}
	sum := testnetSummary{Protocol: o.protocol}
	if o.loadRate > 0 {
		// The load stops submitting after the duration or at the first
		// Ctrl-C, then waits briefly for its last transactions to commit;
		// a second Ctrl-C (ctx) cuts both short.
		res, err := loadgen.Run(ctx, loadgen.Config{
			Endpoints: ln.endpoints, Rate: o.loadRate, Duration: runDuration(o.duration), TxSize: o.txSize,
			Stop: o.interrupt, DrainTimeout: testnetDrain,
			Progress: func(s loadgen.Snapshot) { latest.Store(&s) },
		})
		if err != nil && ctx.Err() == nil {
			stopStatus()
			status.Wait()
			return sum, fmt.Errorf("load: %w", err)
		}
		sum.Load = &res
	} else {
		var timeout <-chan time.Time
		if o.duration > 0 {
			timeout = time.After(o.duration)
		}
		select {
		case <-ctx.Done():
		case <-o.interrupt:
		case <-timeout:
		}
	}
	stopStatus()
	status.Wait()
	sum.Seconds = time.Since(start).Seconds()
	// ctx may be cancelled (a second Ctrl-C): the summary still needs the
	// validators' answers.
	collectCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	sum.Nodes, sum.CommonHeight = collectNodes(collectCtx, ln)
	sum.Agree, sum.Dissent = agreement(sum.Nodes)
	return sum, nil
}

// testnetDrain bounds how long the testnet waits, once the load stops, for
// its last transactions to commit.
const testnetDrain = 10 * time.Second

// agreement compares the honest validators that answered: the same block
// ID and app hash at the common height, or the list of those that differ
// from the first.
func agreement(nodes []nodeSummary) (bool, []int) {
	var ref *nodeSummary
	var dissent []int
	for i := range nodes {
		n := &nodes[i]
		if n.Byzantine != "" || n.Error != "" {
			continue
		}
		if ref == nil {
			ref = n
			continue
		}
		if n.BlockID != ref.BlockID || n.AppHash != ref.AppHash {
			dissent = append(dissent, n.Validator)
		}
	}
	return ref != nil && len(dissent) == 0, dissent
}

// runDuration is the load's duration: until Ctrl-C when unbounded.
func runDuration(d time.Duration) time.Duration {
	if d == 0 {
		return 365 * 24 * time.Hour
	}
	return d
}

// printStatusLines prints one line per second until ctx ends.
func printStatusLines(ctx context.Context, ln *localNet, latest *atomic.Pointer[loadgen.Snapshot], w io.Writer) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		line := "no validator answers"
		for _, ep := range ln.endpoints {
			if s, err := loadgen.Status(ctx, ep); err == nil {
				if ctx.Err() != nil {
					return
				}
				line = fmt.Sprintf("height %-6d view %-6d leader %-3d peers %d", s.Height, s.View, s.Leader, len(s.Peers))
				break
			}
		}
		if ctx.Err() != nil {
			return
		}
		if s := latest.Load(); s != nil {
			line += fmt.Sprintf(" | %7.0f tx/s committed  p50 %-6s  %d txs committed", s.CommitRate, s.P50.Round(time.Millisecond), s.Committed)
		}
		fmt.Fprintln(w, line)
	}
}

// collectNodes asks each validator for its status and for its block and
// app hash at the highest height all of them reached.
func collectNodes(ctx context.Context, ln *localNet) ([]nodeSummary, uint64) {
	out := make([]nodeSummary, len(ln.endpoints))
	common := uint64(0)
	first := true
	for i, ep := range ln.endpoints {
		out[i].Validator, out[i].Byzantine = i, ln.byzantine[i]
		s, err := loadgen.Status(ctx, ep)
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		out[i].AppHeight, out[i].View = s.AppHeight, s.View
		if out[i].Byzantine == "" && (first || s.AppHeight < common) {
			common, first = s.AppHeight, false
		}
	}
	for i, ep := range ln.endpoints {
		if out[i].Error != "" || common == 0 {
			continue
		}
		b, err := loadgen.Block(ctx, ep, common)
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		out[i].BlockID, out[i].AppHash = b.ID, b.AppHash
	}
	return out, common
}

func printTestnetSummary(w io.Writer, sum testnetSummary, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	verdict := "all honest validators agree"
	if !sum.Agree {
		verdict = fmt.Sprintf("DISAGREEMENT (validators %v differ)", sum.Dissent)
	}
	fmt.Fprintf(w, "\n%s testnet ran %.0f s; at height %d, the highest every honest validator executed, %s:\n",
		sum.Protocol, sum.Seconds, sum.CommonHeight, verdict)
	for _, n := range sum.Nodes {
		if n.Error != "" {
			fmt.Fprintf(w, "  validator %d: %s\n", n.Validator, n.Error)
			continue
		}
		role := ""
		if n.Byzantine != "" {
			role = " [Byzantine: " + n.Byzantine + "]"
		}
		fmt.Fprintf(w, "  validator %d%s: block %.16s…, app hash %.16s… (now at height %d)\n", n.Validator, role, n.BlockID, n.AppHash, n.AppHeight)
	}
	if sum.Load != nil {
		fmt.Fprintf(w, "load: %s\n", sum.Load)
	}
	return nil
}
