package loadgen

import (
	"math"
	"time"
)

// histogram records latencies in logarithmic buckets 1% wide, from 1µs to
// one hour. Percentiles are then within 0.5% of the exact value, memory is
// fixed (a few thousand counters however long the run) and a percentile
// costs one pass over the buckets, cheap enough for every progress report.
type histogram struct {
	counts   [histBuckets]uint64
	n        uint64
	min, max time.Duration
}

const (
	histGrowth  = 1.01
	histLow     = time.Microsecond
	histHigh    = time.Hour
	histBuckets = 2212 // floor(ln(histHigh/histLow) / ln(histGrowth)) + 1
)

var logGrowth = math.Log(histGrowth)

func (h *histogram) record(d time.Duration) {
	if h.n == 0 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
	h.n++
	h.counts[bucketOf(d)]++
}

func bucketOf(d time.Duration) int {
	if d <= histLow {
		return 0
	}
	i := int(math.Log(float64(d)/float64(histLow)) / logGrowth)
	return min(i, histBuckets-1)
}

// quantile is the nearest-rank q-quantile (0 < q ≤ 1): the bucket holding
// the ceil(q·n)-th smallest value, reported at its geometric middle and
// clamped to the smallest and largest values seen.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			mid := time.Duration(float64(histLow) * math.Pow(histGrowth, float64(i)+0.5))
			return min(max(mid, h.min), h.max)
		}
	}
	return h.max
}

// Percentiles summarises commit latencies.
type Percentiles struct {
	P50, P90, P99, Max time.Duration
}

func (h *histogram) percentiles() Percentiles {
	return Percentiles{P50: h.quantile(0.50), P90: h.quantile(0.90), P99: h.quantile(0.99), Max: h.max}
}
