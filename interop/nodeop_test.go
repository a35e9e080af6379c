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

// nodeConfig is server.js's OP_CONFIG.
type nodeConfig struct {
	Clients []client `json:"clients"`
	// RequirePAR makes PAR mandatory for every client, as discovery then
	// says (require_pushed_authorization_requests).
	RequirePAR bool `json:"require_pushed_authorization_requests,omitempty"`
}

// startNodeOP runs op/server.js with the given clients on 127.0.0.1 (a free
// port) and stops it when the test ends. Without node or the installed
// node_modules, the test is skipped, or failed when CI=true.
func startNodeOP(t *testing.T, clients []client) op {
	t.Helper()
	return startNode(t, nodeConfig{Clients: clients})
}

// startNode is startNodeOP with the whole OP_CONFIG.
func startNode(t *testing.T, nc nodeConfig) *nodeOP {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "oidc-provider", "package.json")); err != nil {
		missing(t, "oidc-provider is not installed: run npm ci --prefix interop/op")
	}
	cfg, err := json.Marshal(nc)
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

// opRequest is what the OP received in one request to one of its routes,
// and how it answered (server.js logEntry). It holds no token, secret or
// code.
type opRequest struct {
	Route  string   `json:"route"` // oidc-provider's route name: authorization, resume, token, userinfo, pushed_authorization_request, ...
	Method string   `json:"method"`
	Status int      `json:"status"`
	Params []string `json:"params"` // names of the query (GET) or form (POST) parameters, sorted
	// The client, once the OP identified it.
	ClientID string `json:"client_id"`
	// JOSE headers of the client_assertion and the request object sent.
	ClientAssertion *joseHeader `json:"client_assertion"`
	RequestObject   *joseHeader `json:"request_object"`
	// AuthorizationScheme is the Authorization header's scheme (Basic,
	// Bearer, DPoP), "" without one.
	AuthorizationScheme string `json:"authorization_scheme"`
	// DPoP is the DPoP proof's header, and whether it carried a nonce.
	DPoP *struct {
		joseHeader
		Nonce bool `json:"nonce"`
	} `json:"dpop"`
	// For authorization and resume: the response_mode of the request, and
	// the names of the authorization response parameters sent to the
	// client ("response" alone with JARM).
	ResponseMode   string   `json:"response_mode"`
	ResponseParams []string `json:"response_params"`
	Resource       string   `json:"resource"`   // the resource indicator, RFC 8707
	Error          string   `json:"error"`      // a JSON error answer's error
	TokenType      string   `json:"token_type"` // a token answer's token_type
	// AccessToken describes the access token the OP issued (token) or was
	// presented (userinfo).
	AccessToken *struct {
		Bound bool   `json:"bound"` // sender-constrained (DPoP jkt)
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
	} `json:"access_token"`
}

type joseHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// requests returns what the OP received so far (server.js GET /__log), in
// order.
func (o *nodeOP) requests(ctx context.Context) ([]opRequest, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.issuer+"/__log", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New("log: status " + strconv.Itoa(resp.StatusCode))
	}
	var out []opRequest
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}
