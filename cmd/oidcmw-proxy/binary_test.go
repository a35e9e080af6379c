package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proxyBin is the oidcmw-proxy binary that TestMain builds (with -race
// when the tests have it, which also reuses their compiled packages).
var proxyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "oidcmw-proxy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	proxyBin = filepath.Join(dir, "oidcmw-proxy")
	args := []string{"build", "-o", proxyBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	// go test puts its own GOROOT/bin first in PATH.
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building oidcmw-proxy:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// procLog collects a proxy's stderr and tells the address of its
// "listening" line.
type procLog struct {
	mu        sync.Mutex
	b         bytes.Buffer
	listening chan string // gets the host:port once
	told      bool
}

var listeningLine = regexp.MustCompile(`(?m)^.* msg=listening url=http://([^/ ]+)/`)

func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if !l.told {
		if m := listeningLine.FindSubmatch(l.b.Bytes()); m != nil {
			l.told = true
			l.listening <- string(m[1])
		}
	}
	return len(p), nil
}

func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a running oidcmw-proxy.
type proc struct {
	url     string // http://127.0.0.1:port
	cmd     *exec.Cmd
	log     *procLog
	exited  chan struct{} // closed when the process has ended; then err is set
	exitErr error
}

// environ is env as KEY=value lines: the proxy gets nothing of the test's
// own environment. GORACE spares the race detector's one-second sleep at
// exit (a race still makes the exit status 66).
func environ(env map[string]string) []string {
	out := []string{"GORACE=atexit_sleep_ms=0"}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// launch starts the binary with --addr 127.0.0.1:0, args and env.
func launch(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{log: &procLog{listening: make(chan string, 1)}, exited: make(chan struct{})}
	p.cmd = exec.Command(proxyBin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	p.cmd.Env = environ(env)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p
}

// startProxy starts the proxy, waits until it listens, and stops it with
// SIGTERM when the test ends, checking that it exits 0 (no data race).
func startProxy(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	p := launch(t, env, args...)
	select {
	case addr := <-p.log.listening:
		p.url = "http://" + addr
	case <-p.exited:
		t.Fatalf("oidcmw-proxy %v exited before listening: %v\n%s", args, p.exitErr, p.log)
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("oidcmw-proxy %v did not listen within 30 s:\n%s", args, p.log)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop sends SIGTERM and checks that the proxy drains and exits 0.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
			t.Errorf("oidcmw-proxy did not exit within 30 s of SIGTERM")
		}
	}
	if p.exitErr != nil || strings.Contains(p.log.String(), "DATA RACE") {
		t.Errorf("oidcmw-proxy exited with %v:\n%s", p.exitErr, p.log)
	}
}

// runToExit runs the proxy, which is expected to stop by itself (a
// configuration error), and returns its exit status and output.
func runToExit(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, proxyBin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = environ(env)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("oidcmw-proxy %v: %v\n%s", args, err, out)
	return 0, ""
}
