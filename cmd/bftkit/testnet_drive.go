package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/bftkit/bftkit/loadgen"
	"github.com/bftkit/bftkit/node"
)

// testnetSummary is the final report of a testnet run (--json prints it).
type testnetSummary struct {
	Protocol string  `json:"protocol"`
	Seconds  float64 `json:"seconds"`
	// CommonHeight is the highest height every validator had committed at
	// the end; Nodes report their block ID and app hash there, so agreement
	// shows at a glance.
	CommonHeight uint64          `json:"common_height"`
	Nodes        []nodeSummary   `json:"nodes"`
	Load         *loadgen.Result `json:"load,omitempty"`
}

type nodeSummary struct {
	Validator int    `json:"validator"`
	Byzantine string `json:"byzantine,omitempty"`
	Height    uint64 `json:"height"`
	View      uint64 `json:"view"`
	BlockID   string `json:"block_id"` // at CommonHeight
	AppHash   string `json:"app_hash"` // after CommonHeight
	Error     string `json:"error,omitempty"`
}

// driveTestnet runs the load (if any) and the status lines until ctx ends
// or the duration passes, then gathers the summary.
func driveTestnet(ctx context.Context, o testnetOptions, ln *localNet, stderr io.Writer) (testnetSummary, error) {
	start := time.Now()
	statusCtx, stopStatus := context.WithCancel(ctx)
	defer stopStatus()
	var latest atomic.Pointer[loadgen.Snapshot]
	if !o.json {
		go printStatusLines(statusCtx, ln, &latest, stderr)
	}
	sum := testnetSummary{Protocol: o.protocol}
	if o.loadRate > 0 {
		// The load stops submitting after the duration and then waits for
		// its last transactions to commit; Ctrl-C (ctx) cuts both short.
		res, err := loadgen.Run(ctx, loadgen.Config{
			Endpoints: ln.endpoints, Rate: o.loadRate, Duration: runDuration(o.duration), TxSize: o.txSize,
			Progress: func(s loadgen.Snapshot) { latest.Store(&s) },
		})
		if err != nil && ctx.Err() == nil {
			return sum, fmt.Errorf("load: %w", err)
		}
		sum.Load = &res
	} else {
		wait := ctx
		if o.duration > 0 {
			var cancel context.CancelFunc
			wait, cancel = context.WithTimeout(ctx, o.duration)
			defer cancel()
		}
		<-wait.Done()
	}
	stopStatus()
	sum.Seconds = time.Since(start).Seconds()
	// ctx may be cancelled (Ctrl-C): the summary still needs the
	// validators' answers.
	collectCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	sum.Nodes, sum.CommonHeight = collectNodes(collectCtx, ln)
	for i := range sum.Nodes {
		sum.Nodes[i].Byzantine = ln.byzantine[i]
	}
	return sum, nil
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
			if s, err := fetchStatus(ctx, ep); err == nil {
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
		out[i].Validator = i
		s, err := fetchStatus(ctx, ep)
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		out[i].Height, out[i].View = s.AppHeight, s.View
		if first || s.AppHeight < common {
			common, first = s.AppHeight, false
		}
	}
	for i, ep := range ln.endpoints {
		if out[i].Error != "" || common == 0 {
			continue
		}
		b, err := fetchBlock(ctx, ep, common)
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		out[i].BlockID, out[i].AppHash = b.ID, b.AppHash
	}
	return out, common
}

func fetchBlock(ctx context.Context, endpoint string, height uint64) (node.BlockResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/block/%d", endpoint, height), nil)
	if err != nil {
		return node.BlockResponse{}, err
	}
	res, err := statusClient.Do(req)
	if err != nil {
		return node.BlockResponse{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return node.BlockResponse{}, fmt.Errorf("block %d: %s", height, res.Status)
	}
	var b node.BlockResponse
	err = json.NewDecoder(io.LimitReader(res.Body, 64<<20)).Decode(&b)
	return b, err
}

func printTestnetSummary(w io.Writer, sum testnetSummary, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	fmt.Fprintf(w, "\n%s testnet ran %.0f s; every validator reached height %d, where they hold:\n", sum.Protocol, sum.Seconds, sum.CommonHeight)
	for _, n := range sum.Nodes {
		if n.Error != "" {
			fmt.Fprintf(w, "  validator %d: %s\n", n.Validator, n.Error)
			continue
		}
		role := ""
		if n.Byzantine != "" {
			role = " [Byzantine: " + n.Byzantine + "]"
		}
		fmt.Fprintf(w, "  validator %d%s: block %.16s…, app hash %.16s… (now at height %d)\n", n.Validator, role, n.BlockID, n.AppHash, n.Height)
	}
	if sum.Load != nil {
		fmt.Fprintf(w, "load: %s\n", sum.Load)
	}
	return nil
}
