package bench

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot writes msgs/block and bytes/block against n, log-log, one line per
// protocol (steady state), as PNG and SVG in dir. It returns the files.
func (r Report) Plot(dir string) ([]string, error) {
	var files []string
	for _, m := range []struct {
		name, title string
		value       func(Point) float64
	}{
		{"msgs_per_block", "Messages per committed block", func(p Point) float64 { return p.Msgs }},
		{"bytes_per_block", "Bytes per committed block", func(p Point) float64 { return p.Bytes }},
	} {
		p, err := r.plot(m.title, m.value)
		if err != nil {
			return nil, err
		}
		for _, ext := range []string{"png", "svg"} {
			path := filepath.Join(dir, m.name+"."+ext)
			if err := p.Save(7*vg.Inch, 4.5*vg.Inch, path); err != nil {
				return nil, fmt.Errorf("bench: save %s: %w", path, err)
			}
			files = append(files, path)
		}
	}
	return files, nil
}

func (r Report) plot(title string, value func(Point) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title + " (steady state, log-log)"
	p.X.Label.Text = "validators n"
	p.Y.Label.Text = title
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	byProtocol := map[string]plotter.XYs{}
	for _, pt := range r.Points {
		if pt.Scenario == Steady && value(pt) > 0 {
			byProtocol[pt.Protocol] = append(byProtocol[pt.Protocol], plotter.XY{X: float64(pt.N), Y: value(pt)})
		}
	}
	var args []any
	for _, name := range slices.Sorted(maps.Keys(byProtocol)) {
		label := name
		if e, ok := r.Exponents[name]; ok {
			label = fmt.Sprintf("%s (n^%.2f)", name, e)
		}
		args = append(args, label, byProtocol[name])
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return nil, fmt.Errorf("bench: plot: %w", err)
	}
	return p, nil
}
