package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
)

// Report is a complexity run's results: the points and each protocol's
// growth exponent.
type Report struct {
	Points    []Point            `json:"points"`
	Exponents map[string]float64 `json:"exponents"`
}

// NewReport sorts the points and fits each protocol's exponent.
func NewReport(points []Point) Report {
	points = slices.Clone(points)
	sortPoints(points)
	r := Report{Points: points, Exponents: map[string]float64{}}
	for _, p := range points {
		if _, ok := r.Exponents[p.Protocol]; !ok {
			if e := Exponent(points, p.Protocol); !math.IsNaN(e) {
				r.Exponents[p.Protocol] = e
			}
		}
	}
	return r
}

// WriteTable prints the points as a table, then the exponents.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "protocol\tscenario\tn\tblocks\tmsgs/block\tbytes/block\tsigs made\tsigs verified\tcert bytes\ttx bytes\t")
	for _, p := range r.Points {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.0f\t%.1f\t%.1f\t%.0f\t%.0f\t\n",
			p.Protocol, p.Scenario, p.N, p.Blocks, p.Msgs, p.Bytes, p.SigsCreated, p.SigsVerified, p.CertBytes, p.TxBytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(r.Exponents)) {
		fmt.Fprintf(w, "%s: msgs/block grows as n^%.2f (steady state, log-log fit)\n", name, r.Exponents[name])
	}
	return nil
}

// WriteCSV writes one row per point.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"protocol", "scenario", "n", "blocks", "msgs_per_block", "bytes_per_block",
		"sigs_created_per_block", "sigs_verified_per_block", "cert_bytes_per_block", "tx_bytes_per_block"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	for _, p := range r.Points {
		_ = cw.Write([]string{p.Protocol, p.Scenario, strconv.Itoa(p.N), strconv.FormatUint(p.Blocks, 10),
			f(p.Msgs), f(p.Bytes), f(p.SigsCreated), f(p.SigsVerified), f(p.CertBytes), f(p.TxBytes)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the report as one JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
