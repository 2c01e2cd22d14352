package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/api"
)

// newLoadFakeNode is the least of a validator `bftkit load` needs: POST
// /txs commits every batch at once as the next block, and /status and
// /block/{h} serve the chain. (loadgen's tests have a fuller fake.)
func newLoadFakeNode(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	var blocks [][][]byte
	mux := http.NewServeMux()
	mux.HandleFunc("POST /txs", func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		txs, err := api.DecodeTxBatch(body.Bytes())
		if err != nil {
			http.Error(w, `{"error":"bad batch"}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		blocks = append(blocks, txs)
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(api.TxBatchResponse{Accepted: len(txs)})
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(api.Status{Height: uint64(len(blocks))})
	})
	mux.HandleFunc("GET /block/{height}", func(w http.ResponseWriter, r *http.Request) {
		h, _ := strconv.Atoi(r.PathValue("height"))
		mu.Lock()
		defer mu.Unlock()
		if h < 1 || h > len(blocks) {
			http.Error(w, `{"error":"not yet"}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(api.BlockResponse{Height: uint64(h), Txs: blocks[h-1]})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// runLoadCmd runs `bftkit load args...` with separate stdout and stderr.
func runLoadCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newLoadCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestLoadJSON(t *testing.T) {
	srv := newLoadFakeNode(t)
	out, errOut, err := runLoadCmd(t, "--endpoints", srv.URL, "--rate", "500", "--duration", "300ms", "--json")
	require.NoError(t, err, errOut)
	require.Empty(t, errOut, "no progress bar with --json")
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	require.InDelta(t, 150, res["submitted"], 30)
	require.Equal(t, res["submitted"], res["accepted"])
	require.Equal(t, res["accepted"], res["committed"])
	require.EqualValues(t, 0, res["uncommitted"])
	require.Greater(t, res["elapsed_ms"], 300.0)
	require.Greater(t, res["submit_rate"], 0.0)
	lat, ok := res["latency_ms"].(map[string]any)
	require.True(t, ok, out)
	for _, k := range []string{"p50", "p90", "p99", "max"} {
		require.Greater(t, lat[k], 0.0, k)
	}
	require.Equal(t, map[string]any{}, res["errors"])
}

func TestLoadPrintsSummaryAndProgressBar(t *testing.T) {
	srv := newLoadFakeNode(t)
	// The bar starts with the first progress report, after a second.
	out, errOut, err := runLoadCmd(t, "--endpoints", srv.URL+"/", "--rate", "200", "--duration", "1200ms")
	require.NoError(t, err, errOut)
	require.Contains(t, out, "commit latency p50")
	require.Contains(t, errOut, "tx/s committed", "the progress bar goes to stderr")
	require.Contains(t, errOut, "%")
}

func TestLoadFlagErrorsNameTheFlag(t *testing.T) {
	closed := httptest.NewServer(nil)
	closed.Close()
	for args, want := range map[string]string{
		"--rate -1":                 "--rate: ",
		"--duration 0s":             "--duration: ",
		"--tx-size 8":               "--tx-size: must be at least 16",
		"--endpoints 127.0.0.1:1":   "--endpoints: ",
		"--endpoints " + closed.URL: "--endpoints: " + closed.URL + "/status",
		"--max-in-flight -2":        "--max-in-flight: ",
	} {
		_, _, err := runLoadCmd(t, strings.Fields(args)...)
		require.ErrorContains(t, err, want, args)
	}
}
