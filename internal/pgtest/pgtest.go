// Package pgtest runs a private PostgreSQL cluster for the tests of
// adapters/pgxstore that stop and restart it (never the shared one of
// .ci/run): on a unix socket in a temporary directory, stopped and removed
// at the end of the test. initdb and pg_ctl refuse to run as root, so as
// root they run as user postgres.
package pgtest

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// Server is a PostgreSQL cluster.
type Server struct {
	// URL connects to its postgres database over the socket.
	URL string
	t   testing.TB
	dir string
	bin string
}

// Start initialises and starts a cluster for t and stops it when t ends.
// Without PostgreSQL's binaries the test is skipped, or fails when CI=true
// (.ci/run installs them).
func Start(t testing.TB) *Server {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL not found; .ci/run installs it")
		}
		t.Skip("PostgreSQL not installed")
	}
	sort.Strings(bins)
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, dir: dir, bin: filepath.Dir(bins[len(bins)-1])}
	t.Cleanup(func() {
		s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	if err := os.MkdirAll(filepath.Join(dir, "sock"), 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{dir, filepath.Join(dir, "sock")} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out, err := s.run("initdb", "-D", s.data(), "-A", "trust"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.URL = "postgres://postgres@/postgres?host=" + filepath.Join(dir, "sock")
	s.Start()
	return s
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// run runs one of PostgreSQL's programs, as user postgres when root.
func (s *Server) run(prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, prog), args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("su", "postgres", "-c", shellQuote(append([]string{filepath.Join(s.bin, prog)}, args...)))
	}
	return cmd.CombinedOutput()
}

func shellQuote(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		out += "'" + a + "'"
	}
	return out
}

// Start starts the cluster (again) and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	if out, err := s.run("pg_ctl", "-D", s.data(), "-o", "-k "+filepath.Join(s.dir, "sock")+" -c listen_addresses=",
		"-l", filepath.Join(s.dir, "log"), "-w", "start"); err != nil {
		s.t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
}

// Stop stops the cluster at once, as a crash would.
func (s *Server) Stop() {
	s.t.Helper()
	if out, err := s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop"); err != nil {
		s.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// URL is OIDCMW_TEST_POSTGRES_URL, the shared cluster .ci/run starts.
// Without it the test is skipped, or fails when CI=true.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("OIDCMW_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OIDCMW_TEST_POSTGRES_URL is not set; .ci/run starts PostgreSQL and sets it")
		}
		t.Skip("set OIDCMW_TEST_POSTGRES_URL to run against a real PostgreSQL")
	}
	return u
}
