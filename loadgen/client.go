package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/bftkit/bftkit/api"
)

// Limits on what the client reads back, so that a misbehaving endpoint
// cannot make the load generator allocate without bound.
const (
	maxAnswerBytes = 4 << 20  // a batch answer lists at most 10,000 rejections
	maxBlockBytes  = 32 << 20 // a full block (8 MiB of txs) in base64 JSON
	requestTimeout = 30 * time.Second
)

// postTimeout bounds one POST /txs. Admitting a batch takes milliseconds;
// a node that has not answered in seconds is hung or overloaded, and its
// endpoint should back off rather than keep its slots for the 30 s a
// block download may need. A variable only so tests can shorten it.
var postTimeout = 5 * time.Second

// errPostTimeout is the cause of a POST /txs cancelled by postTimeout.
var errPostTimeout = errors.New("POST /txs timed out")

// client talks to the validators' HTTP API with one shared connection
// pool: a connection per request would exhaust loopback ports at high rates.
type client struct {
	hc *http.Client
}

func newClient(maxInFlight, endpoints int) *client {
	perHost := int(slices.Max(slotsPerEndpoint(maxInFlight, endpoints)))
	tr := &http.Transport{
		Proxy:                 nil, // validators are local; never route load through HTTP_PROXY
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          maxInFlight + 2*endpoints,
		MaxIdleConnsPerHost:   perHost + 2, // every in-flight slot plus the follower can reuse one
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
	}
	return &client{hc: &http.Client{Transport: tr, Timeout: requestTimeout}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// postTxs sends one batch, waiting at most postTimeout. It returns the
// status code and the decoded answer (for 200 and 503), or for other
// codes the node's error message.
func (c *client) postTxs(ctx context.Context, endpoint string, body []byte) (int, api.TxBatchResponse, string, error) {
	var res api.TxBatchResponse
	reqCtx, cancel := context.WithTimeoutCause(ctx, postTimeout, errPostTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, endpoint+"/txs", bytes.NewReader(body))
	if err != nil {
		return 0, res, "", err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	code, data, err := c.do(req, maxAnswerBytes)
	if err != nil {
		if ctx.Err() == nil && context.Cause(reqCtx) == errPostTimeout {
			// One message however far the request got.
			err = fmt.Errorf("no answer within %s", postTimeout)
		}
		return 0, res, "", err
	}
	if code == http.StatusOK || code == http.StatusServiceUnavailable {
		if err := json.Unmarshal(data, &res); err != nil && code == http.StatusOK {
			return code, res, "", fmt.Errorf("decoding the answer: %w", err)
		}
		return code, res, "", nil
	}
	return code, res, errorMessage(data), nil
}

func (c *client) status(ctx context.Context, endpoint string) (api.Status, error) {
	var st api.Status
	found, err := c.getJSON(ctx, endpoint+"/status", maxAnswerBytes, &st)
	if err == nil && !found {
		err = errors.New("HTTP 404: is this a bftkit node?")
	}
	return st, err
}

// block fetches a committed block; found is false while height is not
// committed yet (404).
func (c *client) block(ctx context.Context, endpoint string, height uint64) (b api.BlockResponse, found bool, err error) {
	found, err = c.getJSON(ctx, endpoint+"/block/"+strconv.FormatUint(height, 10), maxBlockBytes, &b)
	return b, found, err
}

func (c *client) getJSON(ctx context.Context, url string, limit int64, v any) (found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	code, data, err := c.do(req, limit)
	switch {
	case err != nil:
		return false, err
	case code == http.StatusNotFound:
		return false, nil
	case code != http.StatusOK:
		return false, fmt.Errorf("HTTP %d: %s", code, errorMessage(data))
	}
	return true, json.Unmarshal(data, v)
}

// do runs req and reads at most limit bytes of the answer. The body is
// always drained and closed so the connection goes back to the pool.
func (c *client) do(req *http.Request, limit int64) (int, []byte, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, nil, unwrapURLError(err)
	}
	if int64(len(data)) > limit {
		return 0, nil, fmt.Errorf("answer exceeds %d bytes", limit)
	}
	return resp.StatusCode, data, nil
}

// unwrapURLError drops the method and URL net/http prepends: errors are
// counted by message, and a URL with a block height in it would make
// every failure a new kind.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorMessage extracts {"error": "..."} from a node's error answer.
func errorMessage(data []byte) string {
	var e api.ErrorResponse
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		return e.Error
	}
	if len(data) > 200 {
		data = data[:200]
	}
	return string(bytes.TrimSpace(data))
}
