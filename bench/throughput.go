package bench

import (
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Throughput is one protocol's run on real processes (`bftkit testnet`).
type Throughput struct {
	Protocol    string  `json:"protocol"`
	Nodes       int     `json:"nodes"`
	Offered     float64 `json:"offered_tx_per_s"` // 0: as fast as accepted
	Committed   float64 `json:"committed_tx_per_s"`
	Latency     Latency `json:"latency_ms"`
	Refused     int     `json:"refused"`
	Agree       bool    `json:"agree"`
	BlockHeight uint64  `json:"common_height"`
}

// Latency is commit latency percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
}

// WriteThroughputTable prints one row per protocol.
func WriteThroughputTable(w io.Writer, rows []Throughput) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "protocol\tnodes\toffered tx/s\tcommitted tx/s\tp50 ms\tp90 ms\tp99 ms\trefused\tagree\t")
	for _, r := range rows {
		offered := fmt.Sprintf("%.0f", r.Offered)
		if r.Offered == 0 {
			offered = "max"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%v\t\n",
			r.Protocol, r.Nodes, offered, r.Committed, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Refused, r.Agree)
	}
	return tw.Flush()
}

// PlotThroughput writes committed tx/s and latency per protocol as bar
// charts (PNG and SVG) in dir.
func PlotThroughput(rows []Throughput, dir string) ([]string, error) {
	names := make([]string, len(rows))
	rate := make(plotter.Values, len(rows))
	p50, p99 := make(plotter.Values, len(rows)), make(plotter.Values, len(rows))
	for i, r := range rows {
		names[i], rate[i], p50[i], p99[i] = r.Protocol, r.Committed, r.Latency.P50, r.Latency.P99
	}
	var files []string
	save := func(p *plot.Plot, name string) error {
		for _, ext := range []string{"png", "svg"} {
			path := filepath.Join(dir, name+"."+ext)
			if err := p.Save(6*vg.Inch, 4*vg.Inch, path); err != nil {
				return fmt.Errorf("bench: save %s: %w", path, err)
			}
			files = append(files, path)
		}
		return nil
	}
	tp := plot.New()
	tp.Title.Text = "Committed transactions per second"
	tp.Y.Label.Text = "tx/s"
	bars, err := plotter.NewBarChart(rate, vg.Points(30))
	if err != nil {
		return nil, err
	}
	bars.Color = plotutil.Color(0)
	tp.Add(bars)
	tp.NominalX(names...)
	if err := save(tp, "throughput"); err != nil {
		return nil, err
	}
	lp, err := latencyChart("Commit latency", names, p50, p99, vg.Points(20))
	if err != nil {
		return nil, err
	}
	if err := save(lp, "latency"); err != nil {
		return nil, err
	}
	return files, nil
}

// latencyChart draws p50 and p99 side by side for each name, bars of
// width w.
func latencyChart(title string, names []string, p50, p99 plotter.Values, w vg.Length) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "ms"
	b50, err := plotter.NewBarChart(p50, w)
	if err != nil {
		return nil, err
	}
	b99, err := plotter.NewBarChart(p99, w)
	if err != nil {
		return nil, err
	}
	b50.Color, b99.Color = plotutil.Color(1), plotutil.Color(2)
	b50.Offset, b99.Offset = -w/2, w/2
	p.Add(b50, b99)
	p.Legend.Add("p50", b50)
	p.Legend.Add("p99", b99)
	p.Legend.Top = true
	p.NominalX(names...)
	return p, nil
}
