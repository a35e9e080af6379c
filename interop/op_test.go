package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// opDir holds server.js and, after `npm ci --prefix interop/op`, node_modules.
const opDir = "op"

// client is the metadata of one client registered at the OP (OpenID Connect
// Dynamic Client Registration 1.0 §2), as server.js passes it to
// oidc-provider.
type client struct {
	ClientID                 string   `json:"client_id"`
	ClientSecret             string   `json:"client_secret,omitempty"`
	RedirectURIs             []string `json:"redirect_uris"`
	PostLogoutRedirectURIs   []string `json:"post_logout_redirect_uris,omitempty"`
	TokenEndpointAuthMethod  string   `json:"token_endpoint_auth_method,omitempty"`
	IDTokenSignedResponseAlg string   `json:"id_token_signed_response_alg,omitempty"`
}

// op is a running oidc-provider process.
type op struct {
	Issuer string
	Kids   []string // the current signing key ids

	cmd    *exec.Cmd
	stderr *syncBuffer
}

// startOP runs op/server.js with the given clients on 127.0.0.1 (a free port)
// and stops it when the test ends. Without node or the installed
// node_modules, the test is skipped, or failed when CI=true.
func startOP(t *testing.T, clients []client) *op {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(opDir, "node_modules", "oidc-provider", "package.json")); err != nil {
		missing(t, "oidc-provider is not installed: run npm ci --prefix interop/op")
	}
	cfg, err := json.Marshal(map[string]any{"clients": clients})
	if err != nil {
		t.Fatal(err)
	}
	o := &op{stderr: &syncBuffer{}}
	o.cmd = exec.Command(node, "server.js")
	o.cmd.Dir = opDir
	o.cmd.Env = append(os.Environ(), "PORT=0", "OP_CONFIG="+string(cfg))
	o.cmd.Stderr = o.stderr
	stdout, err := o.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := o.cmd.Start(); err != nil {
		t.Fatalf("start OP: %v", err)
	}
	t.Cleanup(func() {
		o.stop()
		if t.Failed() {
			t.Logf("OP stderr:\n%s", o.stderr.String())
		}
	})

	// The first stdout line says where it listens.
	type hello struct {
		Issuer string   `json:"issuer"`
		Kids   []string `json:"kids"`
	}
	ready := make(chan hello, 1)
	failed := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() {
			failed <- fmt.Errorf("OP exited before it listened: %v", sc.Err())
			return
		}
		var h hello
		if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Issuer == "" {
			failed <- fmt.Errorf("OP printed %q, want {\"issuer\": ...}", sc.Text())
			return
		}
		ready <- h
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case h := <-ready:
		o.Issuer, o.Kids = h.Issuer, h.Kids
	case err := <-failed:
		t.Fatalf("%v\nstderr:\n%s", err, o.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("OP did not start within 20s\nstderr:\n%s", o.stderr.String())
	}
	return o
}

// stop ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (o *op) stop() {
	if o.cmd.Process == nil {
		return
	}
	_ = o.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = o.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = o.cmd.Process.Kill()
		<-done
	}
}

// rotate replaces all of the OP's signing keys (server.js POST /__rotate)
// and returns the new key ids. The OP keeps its port, its sessions and its
// clients; only the JWKS changes.
func (o *op) rotate(ctx context.Context) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.Issuer+"/__rotate", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New("rotate: status " + strconv.Itoa(resp.StatusCode))
	}
	var out struct {
		Kids []string `json:"kids"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	o.Kids = out.Kids
	return out.Kids, nil
}

// missing skips the test because a component of the suite is not installed,
// or fails it when CI=true: .ci/run installs everything, so there a missing
// piece is a bug, never a reason to skip.
func missing(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("interop: %s (CI=true: not skipping)", reason)
	}
	t.Skipf("interop: %s", reason)
}

// syncBuffer collects output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
