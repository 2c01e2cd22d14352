package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/bftkit/bftkit/config"
	"github.com/bftkit/bftkit/internal/ports"
	"github.com/bftkit/bftkit/loadgen"
	"github.com/bftkit/bftkit/types"
)

// stopGrace is how long validators get to stop after SIGTERM before the
// launcher kills them.
const stopGrace = 20 * time.Second

// localNet is the validator processes of a local testnet.
type localNet struct {
	procs     []*validatorProc
	endpoints []string // http://127.0.0.1:port, by validator
	byzantine []string // behaviour by validator, "" if honest
}

// validatorProc is one `bftkit node` child process.
type validatorProc struct {
	index int
	cmd   *exec.Cmd
	log   string
	done  chan struct{} // closed when the process has exited
	err   error         // its exit error, valid once done is closed
}

func (p *validatorProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// testnetHome returns the directory to write homes into and a cleanup
// that removes it if it is temporary.
func testnetHome(keep string) (string, func(), error) {
	if keep != "" {
		if entries, err := os.ReadDir(keep); err == nil && len(entries) > 0 {
			return "", nil, fmt.Errorf("--home: %s exists and is not empty; give a new directory (its keys and data are never overwritten)", keep)
		}
		return keep, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "bftkit-testnet-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// spawner starts child processes from one OS thread that lives as long as
// the launcher. Children get SIGKILL when that thread exits (Pdeathsig),
// so validators never outlive a launcher that died without cleaning up
// (kill -9, a crash); the thread must not be one the runtime may retire,
// hence the locked goroutine.
type spawner struct {
	requests chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnerOnce sync.Once
	theSpawner  *spawner
)

func getSpawner() *spawner {
	spawnerOnce.Do(func() {
		theSpawner = &spawner{requests: make(chan spawnRequest)}
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives until the process ends
			for r := range theSpawner.requests {
				r.done <- r.cmd.Start()
			}
		}()
	})
	return theSpawner
}

func (s *spawner) start(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	s.requests <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// launchTestnet writes o.nodes validator homes under home, on free
// loopback ports (o's out, hosts and ports are set here), and starts
// them: the start `bftkit testnet` and `bftkit bench faults` share.
func launchTestnet(home string, o initOptions, byz map[types.ValidatorIndex]string) (*localNet, error) {
	free, err := ports.Free(2 * o.nodes)
	if err != nil {
		return nil, err
	}
	o.out, o.hosts, o.ports = home, []string{"127.0.0.1"}, free
	if err := writeTestnet(o); err != nil {
		return nil, err
	}
	return startValidators(home, o.nodes, byz)
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
		if err := ln.start(exe, i, dir, byz[types.ValidatorIndex(i)]); err != nil {
			ln.stop(io.Discard)
			return nil, err
		}
	}
	return ln, nil
}

// killOne SIGKILLs validator i (through its handle) and waits until it
// has exited.
func (ln *localNet) killOne(i int) {
	p := ln.procs[i]
	if !p.exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// restart starts validator i again, from its home, after it exited.
func (ln *localNet) restart(i int) error {
	p := ln.procs[i]
	<-p.done
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	fresh := &localNet{}
	if err := fresh.start(exe, i, filepath.Dir(p.log), ln.byzantine[i]); err != nil {
		return err
	}
	ln.procs[i] = fresh.procs[0]
	return nil
}

func (ln *localNet) start(exe string, i int, home, byz string) error {
	f, err := config.Load(home)
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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := getSpawner().start(cmd); err != nil {
		logFile.Close()
		return fmt.Errorf("starting validator %d: %w", i, err)
	}
	p := &validatorProc{index: i, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	ln.procs = append(ln.procs, p)
	ln.endpoints = append(ln.endpoints, "http://"+f.HTTPListen)
	ln.byzantine = append(ln.byzantine, byz)
	return nil
}

// waitReady waits until every validator answers /status and every honest
// one has committed a block since it first answered (a kept --home starts
// above height 0), failing early (with the end of its log) if one exits. Answering is not enough: until the validators are connected,
// know each other's gossip subscriptions and (Raft) have elected a leader,
// submitted transactions wait, and a benchmark would count that start-up
// in its latency tail (it was most of Raft's p99 at 2,000 tx/s: 350-640 ms
// against 100 ms once the chain runs).
func (ln *localNet) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for i, ep := range ln.endpoints {
		var start *uint64 // the height at the first answer
		for {
			st, err := loadgen.Status(ctx, ep)
			if err == nil && start == nil {
				start = &st.Height
			}
			if err == nil && (ln.byzantine[i] != "" || st.Height > *start) {
				break
			}
			select {
			case <-ln.procs[i].done:
				return fmt.Errorf("validator %d exited at start (%v); the end of %s:\n%s", i, ln.procs[i].err, ln.procs[i].log, logTail(ln.procs[i].log))
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				if err == nil {
					return fmt.Errorf("validator %d answers on %s but committed no block within %s; see %s", i, ep, within, ln.procs[i].log)
				}
				return fmt.Errorf("validator %d did not answer on %s within %s; see %s", i, ep, within, ln.procs[i].log)
			}
		}
	}
	return nil
}

// watch reports, once, each validator that exits while the testnet runs.
func (ln *localNet) watch(ctx context.Context, w io.Writer) {
	for _, p := range ln.procs {
		go func() {
			select {
			case <-p.done:
				fmt.Fprintf(w, "validator %d exited: %v; the end of %s:\n%s\n", p.index, p.err, p.log, logTail(p.log))
			case <-ctx.Done():
			}
		}()
	}
}

// stop sends SIGTERM to every validator still running, waits for them to
// exit, and after stopGrace kills (SIGKILL) all that are left. Only the
// processes this launcher started are signalled, through their handles.
func (ln *localNet) stop(stderr io.Writer) {
	for _, p := range ln.procs {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.NewTimer(stopGrace)
	defer deadline.Stop()
	for _, p := range ln.procs {
		select {
		case <-p.done:
		case <-deadline.C:
			ln.kill(stderr)
			return
		}
	}
}

// kill SIGKILLs every validator still running and waits for all of them.
func (ln *localNet) kill(stderr io.Writer) {
	for _, p := range ln.procs {
		if !p.exited() {
			fmt.Fprintf(stderr, "validator %d did not stop within %s; killing it\n", p.index, stopGrace)
			_ = p.cmd.Process.Kill()
		}
	}
	for _, p := range ln.procs {
		<-p.done
	}
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
