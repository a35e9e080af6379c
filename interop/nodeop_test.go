package interop

import (
	"bufio"
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

// nodeDir holds server.js and, after `npm ci --prefix interop/op`,
// node_modules.
const nodeDir = "op"

// nodeKind is panva's oidc-provider, run by op/server.js: it has every
// feature the cases need.
var nodeKind = opKind{
	name:  "oidc-provider",
	label: "oidc-provider",
	start: startNodeOP,
}

// nodeOP is a running oidc-provider process.
type nodeOP struct {
	issuer string

	mu   sync.Mutex
	kids []string // the current signing key ids

	cmd    *exec.Cmd
	stderr *syncBuffer
}

// startNodeOP runs op/server.js with the given clients on 127.0.0.1 (a free
// port) and stops it when the test ends. Without node or the installed
// node_modules, the test is skipped, or failed when CI=true.
func startNodeOP(t *testing.T, clients []client) op {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "oidc-provider", "package.json")); err != nil {
		missing(t, "oidc-provider is not installed: run npm ci --prefix interop/op")
	}
	cfg, err := json.Marshal(map[string]any{"clients": clients})
	if err != nil {
		t.Fatal(err)
	}
	o := &nodeOP{stderr: &syncBuffer{}}
	o.cmd = exec.Command(node, "server.js")
	o.cmd.Dir = nodeDir
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
		o.issuer, o.kids = h.Issuer, h.Kids
	case err := <-failed:
		t.Fatalf("%v\nstderr:\n%s", err, o.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("OP did not start within 20s\nstderr:\n%s", o.stderr.String())
	}
	return o
}

func (o *nodeOP) Issuer() string { return o.issuer }

func (o *nodeOP) Kids() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.kids
}

// account: oidc-provider's dev login accepts any login and password, and
// asserts the login as the subject.
func (o *nodeOP) account(name string) account {
	return account{login: name, password: "any password", subject: name}
}

// ui: the pages of oidc-provider's devInteractions and of server.js's
// logout source.
func (o *nodeOP) ui() opUI {
	return opUI{
		login:         `form input[name="login"]`,
		password:      `input[name="password"]`,
		submit:        `button[type="submit"]`,
		consent:       `form input[name="prompt"][value="consent"]`,
		consentSubmit: `button[type="submit"]`,
		logout:        `button[name="logout"]`,
	}
}

// stop ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (o *nodeOP) stop() {
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
func (o *nodeOP) rotate(ctx context.Context) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.issuer+"/__rotate", nil)
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
	o.mu.Lock()
	o.kids = out.Kids
	o.mu.Unlock()
	return out.Kids, nil
}
