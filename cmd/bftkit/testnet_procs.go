package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bftkit/bftkit/config"
	"github.com/bftkit/bftkit/node"
	"github.com/bftkit/bftkit/types"
)

// localNet is the validator processes of a local testnet.
type localNet struct {
	procs     []*exec.Cmd
	exited    []chan error // closed with the exit error when each process ends
	endpoints []string     // http://127.0.0.1:port, by validator
	logs      []string
	byzantine []string // behaviour by validator, "" if honest
}

// testnetHome returns the directory to write homes into and a cleanup
// that removes it if it is temporary.
func testnetHome(keep string) (string, func(), error) {
	if keep != "" {
		return keep, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "bftkit-testnet-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// freeLoopbackPorts asks the system for n distinct free ports.
func freeLoopbackPorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// startValidators runs `bftkit node --home home/node<i>` for each
// validator, in its own process group so that a Ctrl-C reaches only this
// launcher, which then stops the validators in order.
func startValidators(home string, n int, byz map[types.ValidatorIndex]string) (*localNet, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ln := &localNet{}
	for i := range n {
		dir := filepath.Join(home, fmt.Sprintf("node%d", i))
		if err := ln.start(exe, dir, byz[types.ValidatorIndex(i)]); err != nil {
			ln.stop(io.Discard)
			return nil, err
		}
	}
	return ln, nil
}

func (ln *localNet) start(exe, home, byz string) error {
	f, err := loadHTTP(home)
	if err != nil {
		return err
	}
	logPath := filepath.Join(home, "node.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{"node", "--home", home}
	if byz != "" {
		args = append(args, "--byzantine", byz)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting validator %s: %w", home, err)
	}
	done := make(chan error, 1)
	go func() {
		done <- cmd.Wait()
		logFile.Close()
		close(done)
	}()
	ln.procs = append(ln.procs, cmd)
	ln.exited = append(ln.exited, done)
	ln.endpoints = append(ln.endpoints, "http://"+f)
	ln.logs = append(ln.logs, logPath)
	ln.byzantine = append(ln.byzantine, byz)
	return nil
}

// loadHTTP reads a home's HTTP listen address.
func loadHTTP(home string) (string, error) {
	f, err := config.Load(home)
	if err != nil {
		return "", err
	}
	return f.HTTPListen, nil
}

// waitReady waits until every validator answers /status, failing early
// (with the end of its log) if one exits.
func (ln *localNet) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for i, ep := range ln.endpoints {
		for {
			if _, err := fetchStatus(ctx, ep); err == nil {
				break
			}
			select {
			case <-ln.exited[i]:
				return fmt.Errorf("validator %d exited at start; the end of %s:\n%s", i, ln.logs[i], logTail(ln.logs[i]))
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("validator %d did not answer on %s within %s; see %s", i, ep, within, ln.logs[i])
			}
		}
	}
	return nil
}

// stop sends SIGTERM to every validator still running, waits for a clean
// exit, and kills (SIGKILL) any still running after a grace period.
func (ln *localNet) stop(stderr io.Writer) {
	for i, cmd := range ln.procs {
		if !processDone(ln.exited[i]) {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	grace := time.After(20 * time.Second)
	for i, cmd := range ln.procs {
		select {
		case <-ln.exited[i]:
		case <-grace:
			fmt.Fprintf(stderr, "validator %d did not stop within 20 s; killing it\n", i)
			_ = cmd.Process.Kill()
			<-ln.exited[i]
		}
	}
}

func processDone(done chan error) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

var statusClient = &http.Client{Timeout: 2 * time.Second}

func fetchStatus(ctx context.Context, endpoint string) (node.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/status", nil)
	if err != nil {
		return node.Status{}, err
	}
	res, err := statusClient.Do(req)
	if err != nil {
		return node.Status{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return node.Status{}, fmt.Errorf("%s/status: %s", endpoint, res.Status)
	}
	var s node.Status
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&s); err != nil {
		return node.Status{}, err
	}
	return s, nil
}

// logTail returns the last lines of a log file, for error messages.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const max = 2000
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}
