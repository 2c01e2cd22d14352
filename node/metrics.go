package node

import (
	"strings"

	"github.com/bftkit/bftkit/types"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the node's Prometheus series. Each node has its own
// registry, so several nodes can run in one process (tests, testnet).
type metrics struct {
	height, view, halted     prometheus.Gauge
	viewTimeouts             prometheus.Counter
	commitSeconds            prometheus.Histogram
	txCommitSeconds          prometheus.Histogram
	fsyncSeconds             prometheus.Histogram
	verifySeconds            prometheus.Histogram
	msgsIn, bytesIn          *prometheus.CounterVec
	msgsOut, bytesOut        *prometheus.CounterVec
	rejected                 *prometheus.CounterVec
	committedTxs, evidence   prometheus.Counter
	blockRequestsRateLimited prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := factory{reg}
	lat := prometheus.ExponentialBuckets(0.001, 2, 16) // 1 ms … 33 s
	return &metrics{
		height:        f.gauge("height", "Height of the last committed block."),
		halted:        f.gauge("consensus_halted", "1 once consensus stopped on this validator (a halted engine or a failed persist), else 0."),
		view:          f.gauge("view", "Current consensus view."),
		viewTimeouts:  f.counter("view_timeouts_total", "Views this node timed out of (it sent a timeout)."),
		commitSeconds: f.histogram("block_commit_seconds", "Time from first seeing a block's proposal to committing it.", lat),
		txCommitSeconds: f.histogram("tx_commit_seconds",
			"Time from accepting a transaction over HTTP to its commit (mode=commit requests).", lat),
		fsyncSeconds:  f.histogram("persist_seconds", "Time to write and fsync one Ready's safety state and blocks.", prometheus.ExponentialBuckets(0.0001, 2, 16)),
		verifySeconds: f.histogram("verify_seconds", "Time to verify one inbound message's signatures and certificates.", prometheus.ExponentialBuckets(0.0001, 2, 16)),
		msgsIn:        f.counterVec("messages_in_total", "Consensus messages received, by type.", "type"),
		bytesIn:       f.counterVec("bytes_in_total", "Consensus message bytes received, by type.", "type"),
		msgsOut:       f.counterVec("messages_out_total", "Consensus messages sent, by type (a broadcast counts once).", "type"),
		bytesOut:      f.counterVec("bytes_out_total", "Consensus message bytes sent, by type (a broadcast counts once).", "type"),
		rejected:      f.counterVec("messages_rejected_total", "Inbound messages rejected at the gateway, by reason.", "reason"),
		committedTxs:  f.counter("committed_txs_total", "Transactions in committed blocks."),
		evidence:      f.counter("evidence_total", "Double-sign evidence the engine surfaced."),
		blockRequestsRateLimited: f.counter("block_requests_rate_limited_total",
			"Blocks not served to a peer because it asked faster than the limit."),
	}
}

func msgLabel(t types.MsgType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "MSG_"))
}

func (m *metrics) countIn(t types.MsgType, n int) {
	m.msgsIn.WithLabelValues(msgLabel(t)).Inc()
	m.bytesIn.WithLabelValues(msgLabel(t)).Add(float64(n))
}

func (m *metrics) countOut(t types.MsgType, n int) {
	m.msgsOut.WithLabelValues(msgLabel(t)).Inc()
	m.bytesOut.WithLabelValues(msgLabel(t)).Add(float64(n))
}

// factory registers series under the bftkit_ namespace.
type factory struct{ reg prometheus.Registerer }

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "bftkit", Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "bftkit", Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "bftkit", Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "bftkit", Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) gaugeFunc(name, help string, fn func() float64) {
	f.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "bftkit", Name: name, Help: help}, fn))
}

func (f factory) counterFunc(name, help string, fn func() float64) {
	f.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "bftkit", Name: name, Help: help}, fn))
}

func (f factory) labelledCounterFunc(name, help, label, value string, fn func() float64) {
	f.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "bftkit", Name: name, Help: help, ConstLabels: prometheus.Labels{label: value},
	}, fn))
}
