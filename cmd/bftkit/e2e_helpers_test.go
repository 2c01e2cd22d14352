package main

// Helpers for the end-to-end tests in e2e_test.go: a real `bftkit` binary,
// one OS process per validator on loopback ports (libp2p, LevelDB, BLS),
// driven over the HTTP API exactly as an operator would.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bftkit/bftkit/api"
	"github.com/bftkit/bftkit/internal/ports"
	"github.com/bftkit/bftkit/loadgen"
	"github.com/bftkit/bftkit/node"
)

// e2eBuild is the binary under test, built once per `go test` run into a
// temporary directory outside the repository (removed by TestMain).
var e2eBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if e2eBuild.dir != "" {
		_ = os.RemoveAll(e2eBuild.dir)
	}
	os.Exit(code)
}

// e2eBinary builds `bftkit` from this package (the test's working
// directory) the first time an end-to-end test asks for it.
func e2eBinary(t *testing.T) string {
	t.Helper()
	e2eBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "bftkit-e2e-bin-")
		if err != nil {
			e2eBuild.err = err
			return
		}
		e2eBuild.dir = dir
		bin := filepath.Join(dir, "bftkit")
		start := time.Now()
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			e2eBuild.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		e2eBuild.bin = bin
		fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", bin, time.Since(start).Round(time.Millisecond))
	})
	if e2eBuild.err != nil {
		t.Fatalf("building bftkit: %v", e2eBuild.err)
	}
	return e2eBuild.bin
}

// e2eProc is one run of one validator process.
type e2eProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been waited for
	err  error         // the exit status, valid after done
}

func (p *e2eProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

type e2eNodeState int

const (
	e2eDown e2eNodeState = iota
	e2eRunning
	e2ePaused // SIGSTOP: its HTTP API hangs, so nothing may query it
)

// localCluster is a testnet of validator processes owned by one test.
type localCluster struct {
	t      *testing.T
	bin    string
	n      int
	homes  []string
	logs   []string
	eps    []string // http://127.0.0.1:port by validator
	procs  []*e2eProc
	state  []e2eNodeState
	args   [][]string // extra args of the last start, for restart
	starts []int      // how many times each validator was started
	mu     sync.Mutex // guards all
	all    []*e2eProc // every process ever started, for cleanup
}

// newLocalCluster writes the homes of an n-validator HotStuff testnet on
// free loopback ports. Nothing runs until start.
func newLocalCluster(t *testing.T, n int) *localCluster {
	t.Helper()
	return newProtocolLocalCluster(t, node.ProtocolHotStuff, n)
}

// newProtocolLocalCluster writes homes for n validators running protocol.
func newProtocolLocalCluster(t *testing.T, protocol string, n int) *localCluster {
	t.Helper()
	bin := e2eBinary(t)
	dir := t.TempDir() // registered before the kill cleanup, so removed after it
	ports, err := ports.Free(2 * n)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "net")
	if err := writeTestnet(initOptions{
		nodes: n, out: out, hosts: []string{"127.0.0.1"}, ports: ports,
		protocol: protocol, chainID: "bftkit-e2e",
	}); err != nil {
		t.Fatal(err)
	}
	c := &localCluster{
		t: t, bin: bin, n: n,
		procs: make([]*e2eProc, n), state: make([]e2eNodeState, n),
		args: make([][]string, n), starts: make([]int, n),
	}
	for i := range n {
		c.homes = append(c.homes, filepath.Join(out, fmt.Sprintf("node%d", i)))
		c.logs = append(c.logs, filepath.Join(dir, fmt.Sprintf("node%d.log", i)))
		c.eps = append(c.eps, fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]))
	}
	t.Cleanup(c.cleanup)
	return c
}

// cleanup kills (SIGKILL, by PID) and reaps every process this cluster
// started, then shows the end of each log if the test failed.
func (c *localCluster) cleanup() {
	c.mu.Lock()
	procs := slices.Clone(c.all)
	c.mu.Unlock()
	for _, p := range procs {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGKILL) // also ends a SIGSTOPped process
		}
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			c.t.Errorf("pid %d did not exit 10 s after SIGKILL", p.cmd.Process.Pid)
		}
	}
	if c.t.Failed() {
		for i := range c.n {
			c.t.Logf("---- end of validator %d's log (%s) ----\n%s", i, c.logs[i], e2eLogTail(c.logs[i], 40))
		}
	}
}

// e2eLogTail returns the last lines of a log, at most about 6 KB.
func e2eLogTail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const max = 6000
	if len(data) > max {
		data = data[len(data)-max:]
		if i := strings.IndexByte(string(data), '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	ls := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// startAll starts every validator, honest, and waits until each answers.
func (c *localCluster) startAll() {
	c.t.Helper()
	for i := range c.n {
		c.launch(i)
	}
	for i := range c.n {
		c.waitAnswers(i, 30*time.Second)
	}
}

// start runs validator i (`bftkit node --home HOME extraArgs...`) and waits
// until its HTTP API answers.
func (c *localCluster) start(i int, extraArgs ...string) {
	c.t.Helper()
	c.launch(i, extraArgs...)
	c.waitAnswers(i, 30*time.Second)
}

func (c *localCluster) launch(i int, extraArgs ...string) {
	c.t.Helper()
	if c.state[i] != e2eDown {
		c.t.Fatalf("start validator %d: it is already running", i)
	}
	logFile, err := os.OpenFile(c.logs[i], os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	c.starts[i]++
	args := append([]string{"node", "--home", c.homes[i]}, extraArgs...)
	fmt.Fprintf(logFile, "==== e2e: start #%d at %s: bftkit %s\n", c.starts[i], time.Now().Format(time.TimeOnly), strings.Join(args, " "))
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // signals reach this process only
	if err := cmd.Start(); err != nil {
		logFile.Close()
		c.t.Fatalf("starting validator %d: %v", i, err)
	}
	p := &e2eProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	c.mu.Lock()
	c.all = append(c.all, p)
	c.mu.Unlock()
	c.procs[i], c.state[i], c.args[i] = p, e2eRunning, extraArgs
}

// waitAnswers waits until validator i answers /status, failing at once if
// it exits.
func (c *localCluster) waitAnswers(i int, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for {
		if _, last = c.status(i); last == nil {
			return
		}
		c.requireAlive(i)
		if time.Now().After(deadline) {
			c.t.Fatalf("validator %d did not answer on %s within %s: %v", i, c.eps[i], within, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireAlive fails the test if validator i, meant to be running or
// paused, has exited on its own.
func (c *localCluster) requireAlive(i int) {
	c.t.Helper()
	if c.state[i] == e2eDown || c.procs[i] == nil || !c.procs[i].exited() {
		return
	}
	c.t.Fatalf("validator %d exited on its own (%v); the end of its log:\n%s", i, c.procs[i].err, e2eLogTail(c.logs[i], 30))
}

// kill9 sends SIGKILL to validator i and reaps it.
func (c *localCluster) kill9(i int) {
	c.t.Helper()
	if c.state[i] == e2eDown {
		c.t.Fatalf("kill9 validator %d: it is not running", i)
	}
	p := c.procs[i]
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		c.t.Fatalf("validator %d (pid %d) did not exit 10 s after SIGKILL", i, p.cmd.Process.Pid)
	}
	c.state[i] = e2eDown
}

// stop freezes validator i with SIGSTOP: to its peers it is a node whose
// connections stay open but which never answers.
func (c *localCluster) stop(i int) {
	c.t.Helper()
	if c.state[i] != e2eRunning {
		c.t.Fatalf("stop validator %d: it is not running", i)
	}
	if err := c.procs[i].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatalf("SIGSTOP validator %d: %v", i, err)
	}
	c.state[i] = e2ePaused
}

// cont resumes validator i with SIGCONT.
func (c *localCluster) cont(i int) {
	c.t.Helper()
	if c.state[i] != e2ePaused {
		c.t.Fatalf("cont validator %d: it is not paused", i)
	}
	if err := c.procs[i].cmd.Process.Signal(syscall.SIGCONT); err != nil {
		c.t.Fatalf("SIGCONT validator %d: %v", i, err)
	}
	c.state[i] = e2eRunning
}

// restart starts validator i again from the same home, with the same
// extra arguments, killing it first if it still runs.
func (c *localCluster) restart(i int) {
	c.t.Helper()
	if c.state[i] != e2eDown {
		c.kill9(i)
	}
	c.start(i, c.args[i]...)
}

// running lists the validators that are up and not paused.
func (c *localCluster) running() []int {
	var out []int
	for i, s := range c.state {
		if s == e2eRunning {
			out = append(out, i)
		}
	}
	return out
}

// endpoints returns the HTTP endpoints of the given validators (all if
// none are named).
func (c *localCluster) endpoints(nodes ...int) []string {
	if len(nodes) == 0 {
		return slices.Clone(c.eps)
	}
	var out []string
	for _, i := range nodes {
		out = append(out, c.eps[i])
	}
	return out
}

func (c *localCluster) status(i int) (api.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return loadgen.Status(ctx, c.eps[i])
}

// mustStatus is validator i's status, failing the test if it cannot be had.
func (c *localCluster) mustStatus(i int) api.Status {
	c.t.Helper()
	var err error
	for range 3 {
		var s api.Status
		if s, err = c.status(i); err == nil {
			return s
		}
		c.requireAlive(i)
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("validator %d: %v", i, err)
	return api.Status{}
}

// waitHeight waits until every running validator's application has
// executed height h, and returns their app heights by validator.
func (c *localCluster) waitHeight(h uint64, within time.Duration) map[int]uint64 {
	c.t.Helper()
	return c.waitHeightOn(c.running(), h, within)
}

// waitHeightOn waits until the given validators' app_height reaches h.
func (c *localCluster) waitHeightOn(nodes []int, h uint64, within time.Duration) map[int]uint64 {
	c.t.Helper()
	return c.waitUntil(nodes, within, fmt.Sprintf("app_height ≥ %d", h),
		func(s api.Status) bool { return s.AppHeight >= h })
}

// waitCommitted waits until the given validators' committed height
// (which may run a few blocks ahead of app_height) reaches h.
func (c *localCluster) waitCommitted(nodes []int, h uint64, within time.Duration) {
	c.t.Helper()
	c.waitUntil(nodes, within, fmt.Sprintf("height ≥ %d", h),
		func(s api.Status) bool { return s.Height >= h })
}

// waitUntil polls the given validators' status until ok holds for all of
// them (errors are retried: a node busy catching up may answer slowly),
// and returns their app heights.
func (c *localCluster) waitUntil(nodes []int, within time.Duration, what string, ok func(api.Status) bool) map[int]uint64 {
	c.t.Helper()
	deadline := time.Now().Add(within)
	got := map[int]uint64{}
	lastErr := map[int]error{}
	for {
		pending := 0
		for _, i := range nodes {
			c.requireAlive(i)
			s, err := c.status(i)
			lastErr[i] = err
			if err != nil {
				pending++
				continue
			}
			got[i] = s.AppHeight
			if !ok(s) {
				pending++
			}
		}
		if pending == 0 {
			return got
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("validators %v: not all at %s within %s: app heights %v, errors %v", nodes, what, within, got, lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commonHeight is the lowest app_height among the given validators.
func (c *localCluster) commonHeight(nodes []int) uint64 {
	c.t.Helper()
	var low uint64
	for k, i := range nodes {
		h := c.mustStatus(i).AppHeight
		if k == 0 || h < low {
			low = h
		}
	}
	return low
}

// maxHeight is the highest committed height among the given validators.
func (c *localCluster) maxHeight(nodes []int) uint64 {
	c.t.Helper()
	var high uint64
	for _, i := range nodes {
		high = max(high, c.mustStatus(i).Height)
	}
	return high
}

// requireAgreement checks that every running validator holds the same
// block (ID) and, where both report one, the same app hash at each height
// 1..upTo, and that all report the app hash at upTo. It returns the
// agreed block IDs (index h-1).
func (c *localCluster) requireAgreement(upTo uint64) []string {
	c.t.Helper()
	return c.requireAgreementOn(c.running(), upTo)
}

// requireAgreementOn is requireAgreement over the given validators.
func (c *localCluster) requireAgreementOn(nodes []int, upTo uint64) []string {
	c.t.Helper()
	if upTo == 0 {
		c.t.Fatal("requireAgreement: height 0 proves nothing")
	}
	// Every node must have executed upTo for its app hash there.
	c.waitHeightOn(nodes, upTo, 60*time.Second)
	chains, err := c.fetchChains(nodes, 1, upTo)
	if err != nil {
		c.t.Fatal(err)
	}
	ref := nodes[0]
	for h := uint64(1); h <= upTo; h++ {
		k := h - 1
		var hash string
		var hashFrom int
		for _, i := range nodes {
			b := chains[i][k]
			if b.Height != h {
				c.t.Fatalf("validator %d: /block/%d answered height %d", i, h, b.Height)
			}
			if b.ID != chains[ref][k].ID {
				c.t.Fatalf("SAFETY VIOLATION at height %d: validator %d holds block %s, validator %d holds %s",
					h, ref, chains[ref][k].ID, i, b.ID)
			}
			if b.AppHash == "" {
				if h == upTo {
					c.t.Fatalf("validator %d reports no app hash at height %d, which it has executed", i, h)
				}
				continue
			}
			if hash == "" {
				hash, hashFrom = b.AppHash, i
			} else if b.AppHash != hash {
				c.t.Fatalf("app hashes diverge after height %d (block %s): validator %d has %s, validator %d has %s",
					h, b.ID, hashFrom, hash, i, b.AppHash)
			}
		}
	}
	ids := make([]string, upTo)
	for k := range ids {
		ids[k] = chains[ref][k].ID
	}
	c.t.Logf("validators %v agree on heights 1..%d (block %.16s…, app hash %.16s…)",
		nodes, upTo, ids[upTo-1], chains[ref][upTo-1].AppHash)
	return ids
}

// fetchChains reads /block/h for h in from..to from each validator, one
// goroutine per validator.
func (c *localCluster) fetchChains(nodes []int, from, to uint64) (map[int][]api.BlockResponse, error) {
	out := make(map[int][]api.BlockResponse, len(nodes))
	errs := make([]error, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for k, i := range nodes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			bs := make([]api.BlockResponse, 0, to-from+1)
			for h := from; h <= to; h++ {
				b, err := e2eFetchBlock(ctx, c.eps[i], h)
				if err != nil {
					errs[k] = fmt.Errorf("validator %d: %w", i, err)
					return
				}
				bs = append(bs, b)
			}
			mu.Lock()
			out[i] = bs
			mu.Unlock()
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// e2eFetchBlock retries a block read a few times: a validator under
// load can miss the client's 2 s timeout once.
func e2eFetchBlock(ctx context.Context, ep string, h uint64) (api.BlockResponse, error) {
	var err error
	for range 3 {
		var b api.BlockResponse
		if b, err = loadgen.Block(ctx, ep, h); err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return api.BlockResponse{}, err
}

// blockIDs reads validator i's block IDs at heights from..to.
func (c *localCluster) blockIDs(i int, from, to uint64) []string {
	c.t.Helper()
	chains, err := c.fetchChains([]int{i}, from, to)
	if err != nil {
		c.t.Fatal(err)
	}
	ids := make([]string, 0, len(chains[i]))
	for _, b := range chains[i] {
		ids = append(ids, b.ID)
	}
	return ids
}

// e2eLoadRun is a load running in the background.
type e2eLoadRun struct {
	done chan struct{}
	res  loadgen.Result
	err  error
}

// e2eStartLoad submits rate tx/s to the given endpoints for d, in the
// background; wait returns the result once the drain is over.
func e2eStartLoad(ctx context.Context, eps []string, rate float64, d time.Duration) *e2eLoadRun {
	l := &e2eLoadRun{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.res, l.err = loadgen.Run(ctx, loadgen.Config{
			Endpoints: eps, Rate: rate, Duration: d, TxSize: 100,
			DrainTimeout: 20 * time.Second,
		})
	}()
	return l
}

// wait waits for the load to finish and fails the test if it could not run.
func (l *e2eLoadRun) wait(t *testing.T) loadgen.Result {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("load did not finish within 2 minutes")
	}
	if l.err != nil {
		t.Fatalf("load: %v (%s)", l.err, l.res)
	}
	t.Logf("load: %s", l.res)
	return l.res
}

// e2eRunLoad is e2eStartLoad then wait.
func e2eRunLoad(t *testing.T, eps []string, rate float64, d time.Duration) loadgen.Result {
	t.Helper()
	return e2eStartLoad(t.Context(), eps, rate, d).wait(t)
}

// others is every validator but the given ones.
func e2eOthers(n int, except ...int) []int {
	var out []int
	for i := range n {
		if !slices.Contains(except, i) {
			out = append(out, i)
		}
	}
	return out
}
