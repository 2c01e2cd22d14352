package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/bftkit/bftkit/api"
	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/mempool"
	"github.com/bftkit/bftkit/store"
	"github.com/bftkit/bftkit/types"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HTTP API limits.
const (
	defaultCommitWait = 30 * time.Second
	maxCommitWait     = 2 * time.Minute
	maxQueryKeyBytes  = 4 << 10
	// maxAsyncAdds bounds async submissions still running CheckTx: async
	// must not mean unbounded goroutines.
	maxAsyncAdds = 1024
)

func (n *Node) listenHTTP() error {
	if n.cfg.HTTPListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", n.cfg.HTTPListen)
	if err != nil {
		return fmt.Errorf("HTTP API: cannot listen on %s: %w", n.cfg.HTTPListen, err)
	}
	n.httpLn = ln
	n.httpSrv = &http.Server{
		Handler:           n.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      maxCommitWait + 10*time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return n.ctx },
	}
	return nil
}

func (n *Node) serveHTTP() {
	if err := n.httpSrv.Serve(n.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
		n.log.Error("HTTP API stopped", "err", err)
	}
}

// HTTPAddr is the API's address ("" if disabled), with the chosen port.
func (n *Node) HTTPAddr() string {
	if n.httpLn == nil {
		return ""
	}
	return n.httpLn.Addr().String()
}

func (n *Node) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", n.handleStatus)
	mux.HandleFunc("POST /tx", n.handleTx)
	mux.HandleFunc("POST /txs", n.handleTxBatch)
	mux.HandleFunc("GET /tx/{hash}", n.handleTxStatus)
	mux.HandleFunc("GET /block/{height}", n.handleBlock)
	mux.HandleFunc("GET /validators", n.handleValidators)
	mux.HandleFunc("GET /query", n.handleQuery)
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.registry, promhttp.HandlerOpts{}))
	if n.cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, api.ErrorResponse{Error: fmt.Sprintf(format, args...)})
}

func (n *Node) handleStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, n.Status())
}

// handleTx takes the raw request body as one transaction. mode is async
// (answer once the size is checked), sync (answer after CheckTx; the
// default) or commit (answer once the tx is committed or dropped, or when
// the wait, ?timeout=10s, runs out).
func (n *Node) handleTx(w http.ResponseWriter, r *http.Request) {
	mode := r.URL.Query().Get("mode")
	if mode == "" {
		mode = "sync"
	}
	if mode != "async" && mode != "sync" && mode != "commit" {
		writeError(w, http.StatusBadRequest, "mode %q: want async, sync or commit", mode)
		return
	}
	wait := defaultCommitWait
	if mode == "commit" {
		var err error
		if wait, err = commitWait(r.URL.Query().Get("timeout")); err != nil {
			writeError(w, http.StatusBadRequest, "timeout: %v", err)
			return
		}
	}
	tx, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(n.cfg.Mempool.MaxTxBytes)))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "transaction exceeds %d bytes", n.cfg.Mempool.MaxTxBytes)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	case len(tx) == 0:
		writeError(w, http.StatusBadRequest, "empty transaction: send the transaction bytes as the request body")
		return
	}
	hash := mempool.HashTx(tx)
	switch mode {
	case "async":
		n.addAsync(w, tx, hash)
	case "sync":
		if _, err := n.mempool.Add(r.Context(), tx, mempool.Local); err != nil {
			n.writeAddError(w, hash, err)
			return
		}
		writeJSON(w, http.StatusOK, api.TxResponse{Hash: hash.String(), Status: "accepted"})
	case "commit":
		n.addAndWait(w, r, tx, hash, wait)
	}
}

func commitWait(s string) (time.Duration, error) {
	if s == "" {
		return defaultCommitWait, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 || d > maxCommitWait {
		return 0, fmt.Errorf("%s is outside (0, %s]", d, maxCommitWait)
	}
	return d, nil
}

func (n *Node) addAsync(w http.ResponseWriter, tx []byte, hash mempool.TxHash) {
	select {
	case n.asyncAdds <- struct{}{}:
	default:
		writeError(w, http.StatusServiceUnavailable, "too many async submissions in flight (%d); retry or use mode=sync", maxAsyncAdds)
		return
	}
	n.wg.Add(1) // Stop waits for it: CheckTx must not run on a closed app
	go func() {
		defer n.wg.Done()
		defer func() { <-n.asyncAdds }()
		if _, err := n.mempool.Add(n.ctx, tx, mempool.Local); err != nil && !errors.Is(err, mempool.ErrDuplicate) {
			n.asyncFailures.put(hash, err.Error())
		}
	}()
	writeJSON(w, http.StatusAccepted, api.TxResponse{Hash: hash.String(), Status: "submitted"})
}

// addAndWait admits tx and waits for its final outcome. It subscribes
// after Add: a commit in between is not missed, because Subscribe reports
// an outcome that is already final. A duplicate (a retry after a timed-out
// wait, or a tx already committed) waits for the same outcome.
func (n *Node) addAndWait(w http.ResponseWriter, r *http.Request, tx []byte, hash mempool.TxHash, wait time.Duration) {
	start := time.Now()
	if _, err := n.mempool.Add(r.Context(), tx, mempool.Local); err != nil && !errors.Is(err, mempool.ErrDuplicate) {
		n.writeAddError(w, hash, err)
		return
	}
	outcome, cancel, err := n.mempool.Subscribe(hash)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	defer cancel()
	ctx, stop := context.WithTimeout(r.Context(), wait)
	defer stop()
	select {
	case o := <-outcome:
		if o.Status == mempool.Committed {
			n.metrics.txCommitSeconds.Observe(time.Since(start).Seconds())
		}
		writeJSON(w, http.StatusOK, outcomeResponse(hash, o))
	case <-ctx.Done():
		writeJSON(w, http.StatusAccepted, api.TxResponse{Hash: hash.String(), Status: "pending",
			Log: fmt.Sprintf("not committed within %s; poll GET /tx/%s", wait, hash)})
	}
}

func outcomeResponse(hash mempool.TxHash, o mempool.Outcome) api.TxResponse {
	res := api.TxResponse{Hash: hash.String(), Status: o.Status.String(), Height: o.Height}
	if o.Status == mempool.Dropped {
		res.Log = o.Reason.String()
		if o.Detail != "" {
			res.Log += ": " + o.Detail
		}
	}
	return res
}

// writeAddError maps admission errors to status codes: the client's
// fault is 4xx, a full mempool is 503 (retry later).
func (n *Node) writeAddError(w http.ResponseWriter, hash mempool.TxHash, err error) {
	var rejected *mempool.RejectedError
	switch {
	case errors.As(err, &rejected):
		writeJSON(w, http.StatusUnprocessableEntity, api.TxResponse{Hash: hash.String(), Status: "rejected", Code: rejected.Code, Log: rejected.Log})
	case errors.Is(err, mempool.ErrDuplicate):
		writeError(w, http.StatusConflict, "%v", err)
	case errors.Is(err, mempool.ErrTxTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "%v", err)
	case errors.Is(err, mempool.ErrEmptyTx):
		writeError(w, http.StatusBadRequest, "%v", err)
	case errors.Is(err, mempool.ErrMempoolFull):
		writeError(w, http.StatusServiceUnavailable, "%v", err)
	default:
		writeError(w, http.StatusInternalServerError, "%v", err)
	}
}

// handleTxBatch admits many transactions in one request (mode sync): the
// body is a batch in the transaction-gossip format (api.EncodeTxBatch). Load
// generators use it: one HTTP request per transaction would cost more CPU
// than consensus on a small machine.
func (n *Node) handleTxBatch(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, api.MaxBatchBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "batch exceeds %d bytes", api.MaxBatchBytes)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	txs, err := api.DecodeTxBatch(data)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	var res api.TxBatchResponse
	for i, tx := range txs {
		_, err := n.mempool.Add(r.Context(), tx, mempool.Local)
		switch {
		case err == nil:
			res.Accepted++
		case errors.Is(err, mempool.ErrMempoolFull):
			res.Rejected = append(res.Rejected, api.TxBatchRejection{Index: i, Error: err.Error() + " (and every later transaction of the batch)"})
			writeJSON(w, http.StatusServiceUnavailable, res)
			return
		default:
			res.Rejected = append(res.Rejected, api.TxBatchRejection{Index: i, Error: err.Error()})
		}
	}
	writeJSON(w, http.StatusOK, res)
}

func (n *Node) handleTxStatus(w http.ResponseWriter, r *http.Request) {
	hash, err := mempool.ParseTxHash(r.PathValue("hash"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "hash: %v", err)
		return
	}
	o, ok := n.mempool.Status(hash)
	if !ok {
		if reason, failed := n.asyncFailures.get(hash); failed {
			writeJSON(w, http.StatusOK, api.TxResponse{Hash: hash.String(), Status: "rejected", Log: reason})
			return
		}
		writeError(w, http.StatusNotFound, "transaction %s is unknown to this node (never seen, or forgotten)", hash)
		return
	}
	writeJSON(w, http.StatusOK, outcomeResponse(hash, o))
}

func (n *Node) handleBlock(w http.ResponseWriter, r *http.Request) {
	h, err := strconv.ParseUint(r.PathValue("height"), 10, 64)
	if err != nil || h == 0 {
		writeError(w, http.StatusBadRequest, "height %q: want a positive integer", r.PathValue("height"))
		return
	}
	cb, err := n.store.CommittedBlock(h)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no block at height %d (committed height is %d)", h, n.store.Height())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	b := cb.Block
	res := api.BlockResponse{
		Height: b.Height, ID: cb.ID.Hex(), ParentID: b.ParentID.Hex(), View: b.View,
		Proposer: uint32(b.Proposer), ParentAppHash: fmt.Sprintf("%x", b.ParentAppHash),
		Txs: txBytes(b.Txs), Proof: cb.Proof,
	}
	if hash, ok := n.AppHashAt(h); ok {
		res.AppHash = fmt.Sprintf("%x", hash)
	}
	writeJSON(w, http.StatusOK, res)
}

func (n *Node) handleValidators(w http.ResponseWriter, _ *http.Request) {
	out := make([]api.ValidatorInfo, len(n.cfg.Genesis.Validators))
	for i, v := range n.cfg.Genesis.Validators {
		out[i] = api.ValidatorInfo{Index: types.ValidatorIndex(i), Name: v.Name, PubKey: v.PubKey, PeerID: v.PeerID, Address: v.Address}
	}
	writeJSON(w, http.StatusOK, out)
}

func (n *Node) handleQuery(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if key == "" || len(key) > maxQueryKeyBytes {
		writeError(w, http.StatusBadRequest, "key: required, at most %d bytes", maxQueryKeyBytes)
		return
	}
	res, err := n.cfg.App.Query(r.Context(), app.QueryRequest{Data: []byte(key)})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "query: %v", err)
		return
	}
	if res.Code != app.CodeOK {
		writeError(w, queryStatus(res.Code), "%s", res.Log)
		return
	}
	writeJSON(w, http.StatusOK, api.QueryResponse{Key: key, Value: string(res.Value), Height: res.Height})
}

// queryStatus maps the kvstore's not-found code to 404; other apps' codes
// are the client's problem (400).
func queryStatus(code uint32) int {
	if code == app.CodeNotFound {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// failureLog remembers why recent async submissions were refused, so that
// GET /tx/{hash} can tell the client; bounded, oldest forgotten first.
type failureLog struct {
	mu     sync.Mutex
	byHash map[mempool.TxHash]string
	order  []mempool.TxHash
	next   int
}

const maxAsyncFailures = 10_000

func newFailureLog() *failureLog {
	return &failureLog{byHash: make(map[mempool.TxHash]string), order: make([]mempool.TxHash, 0, maxAsyncFailures)}
}

func (l *failureLog) put(h mempool.TxHash, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, known := l.byHash[h]; known {
		l.byHash[h] = reason // one ring slot per hash: a second would evict it early
		return
	}
	if len(l.order) < maxAsyncFailures {
		l.order = append(l.order, h)
	} else {
		delete(l.byHash, l.order[l.next])
		l.order[l.next] = h
		l.next = (l.next + 1) % maxAsyncFailures
	}
	l.byHash[h] = reason
}

func (l *failureLog) get(h mempool.TxHash) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.byHash[h]
	return r, ok
}
