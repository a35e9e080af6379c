// Package redistest runs a private redis-server for the tests of the Redis
// adapters: on a unix socket in a temporary directory, with an append-only
// file so that data survives a restart, stopped at the end of the test.
package redistest

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Server is a redis-server process.
type Server struct {
	// Sock is the unix socket it listens on.
	Sock string
	t    testing.TB
	dir  string
	cmd  *exec.Cmd
}

// Start starts a server for t and stops it when t ends. Without
// redis-server the test is skipped, or fails when CI=true (.ci/run
// installs it).
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not found; .ci/run installs it")
		}
		t.Skip("redis-server not installed")
	}
	dir := t.TempDir()
	s := &Server{t: t, dir: dir, Sock: filepath.Join(dir, "redis.sock")}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start (re)starts the server and waits until it answers PING.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", "0", "--unixsocket", s.Sock, "--dir", s.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always")
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !s.ping() {
		if time.Now().After(deadline) {
			s.t.Fatal("redis-server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) ping() bool {
	c, err := net.DialTimeout("unix", s.Sock, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

// Stop kills the server, as an outage would.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// URL is OIDCMW_TEST_REDIS_URL, the Redis the adapters' tests and
// benchmarks use (redis://127.0.0.1:6379/0 or unix:///path/redis.sock).
// Without it the test is skipped, or fails when CI=true (.ci/run starts
// Redis and sets it).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("OIDCMW_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OIDCMW_TEST_REDIS_URL is not set; .ci/run starts redis-server and sets it")
		}
		t.Skip("set OIDCMW_TEST_REDIS_URL to run against a real Redis")
	}
	return u
}
