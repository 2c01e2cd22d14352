package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bftkit/bftkit/api"
)

// fakeNode is a stand-in validator: it admits POST /txs batches into a
// pending list and "commits" the ones at least commitDelay old into a new
// block every blockEvery, serving GET /status and GET /block/{h} like a
// node. Several httptest servers can share one fakeNode, like validators
// sharing a chain.
type fakeNode struct {
	commitDelay time.Duration
	blockEvery  time.Duration
	capacity    int           // pending txs before answering 503; 0 = unlimited
	dropEvery   int           // admit every n-th tx but never commit it; 0 = none
	postDelay   time.Duration // how long POST /txs takes to answer

	mu       sync.Mutex
	pending  []fakeTx
	blocks   [][][]byte
	admitted int
	dropped  int
	posts    map[string]int // by server address
	last503  time.Time
	// minGapAfter503 is the shortest time from a 503 to the next POST.
	minGapAfter503 time.Duration
}

type fakeTx struct {
	tx  []byte
	due time.Time
}

func newFakeNode(t *testing.T, f *fakeNode) *fakeNode {
	if f.blockEvery == 0 {
		f.blockEvery = 20 * time.Millisecond
	}
	f.posts = map[string]int{}
	f.minGapAfter503 = time.Hour
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(f.blockEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				f.makeBlock(now)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return f
}

// server starts one more endpoint onto the shared chain.
func (f *fakeNode) server(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /txs", f.handleTxs)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		st := api.Status{ChainID: "fake", Height: uint64(len(f.blocks))}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /block/{height}", func(w http.ResponseWriter, r *http.Request) {
		h, _ := strconv.ParseUint(r.PathValue("height"), 10, 64)
		f.mu.Lock()
		defer f.mu.Unlock()
		if h == 0 || h > uint64(len(f.blocks)) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no block at height %d", h)})
			return
		}
		writeJSON(w, http.StatusOK, api.BlockResponse{Height: h, Txs: f.blocks[h-1]})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeNode) makeBlock(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var block [][]byte
	keep := f.pending[:0]
	for _, p := range f.pending {
		if now.Sub(p.due) >= 0 {
			block = append(block, p.tx)
		} else {
			keep = append(keep, p)
		}
	}
	f.pending = keep
	f.blocks = append(f.blocks, block)
}

func (f *fakeNode) handleTxs(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	txs, err := api.DecodeTxBatch(data)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if f.postDelay > 0 {
		select {
		case <-time.After(f.postDelay):
		case <-r.Context().Done():
			return
		}
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts[r.Host]++
	if !f.last503.IsZero() {
		f.minGapAfter503 = min(f.minGapAfter503, now.Sub(f.last503))
		f.last503 = time.Time{}
	}
	var res api.TxBatchResponse
	for i, tx := range txs {
		if f.capacity > 0 && len(f.pending) >= f.capacity {
			res.Rejected = append(res.Rejected, api.TxBatchRejection{Index: i,
				Error: fmt.Sprintf("mempool full: %d txs (and every later transaction of the batch)", len(f.pending))})
			f.last503 = now
			writeJSON(w, http.StatusServiceUnavailable, res)
			return
		}
		res.Accepted++
		f.admitted++
		if f.dropEvery > 0 && f.admitted%f.dropEvery == 0 {
			f.dropped++
			continue
		}
		f.pending = append(f.pending, fakeTx{tx: tx, due: now.Add(f.commitDelay)})
	}
	writeJSON(w, http.StatusOK, res)
}

// admittedCount is how many transactions the node admitted.
func (f *fakeNode) admittedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.admitted
}

func (f *fakeNode) stats() (posts map[string]int, dropped int, minGap time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	posts = map[string]int{}
	for k, v := range f.posts {
		posts[k] = v
	}
	return posts, f.dropped, f.minGapAfter503
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
