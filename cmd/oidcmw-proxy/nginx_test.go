package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/oidcmw/oidcmw/oidctest"
)

// nginxBin is Debian's nginx (apt-get install nginx), which .ci/run
// installs.
const nginxBin = "/usr/sbin/nginx"

// nginxConf is the configuration of TestNginxAuthRequest, the one
// README.md shows for nginx, with the test's addresses and paths: the
// proxy (Proxy) answers /oauth2/, and nginx asks it about every request
// to /app/ (auth_request) before it proxies to the app (App). /pub/ is
// served without asking.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`{{if .Root}}user root;
{{end}}worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log info;
events { worker_connections 64; }
http {
	access_log {{.Dir}}/access.log;
	client_body_temp_path {{.Dir}}/tmp/client_body;
	proxy_temp_path {{.Dir}}/tmp/proxy;
	fastcgi_temp_path {{.Dir}}/tmp/fastcgi;
	uwsgi_temp_path {{.Dir}}/tmp/uwsgi;
	scgi_temp_path {{.Dir}}/tmp/scgi;

	server {
		listen {{.Listen}};

		# The proxy's own paths: /oauth2/start, /oauth2/callback,
		# /oauth2/sign_out, ... The Host is kept: the proxy's sign-out
		# compares it with the browser's Origin.
		location /oauth2/ {
			proxy_pass http://{{.Proxy}};
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-Host $http_host;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
		}

		# The auth request: nginx only (internal), without the body,
		# with the original method and URI. The client's own
		# X-Forwarded-Uri and -Method are cleared: the proxy refuses two
		# different values.
		location = /oauth2/auth {
			internal;
			proxy_pass http://{{.Proxy}};
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
			proxy_set_header Host $http_host;
			proxy_set_header X-Original-URI $request_uri;
			proxy_set_header X-Original-Method $request_method;
			proxy_set_header X-Forwarded-Uri "";
			proxy_set_header X-Forwarded-Method "";
			proxy_set_header X-Forwarded-Host $http_host;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
		}

		# Without a session the proxy answers 401: log in, and come back.
		location @login {
			return 302 /oauth2/start?rd=$request_uri;
		}

		# The protected app. proxy_set_header replaces what the client
		# sent under these names (an empty value removes the header);
		# nginx drops header names with "_" by default
		# (underscores_in_headers off).
		location /app/ {
			auth_request /oauth2/auth;
			auth_request_set $user $upstream_http_x_auth_request_user;
			auth_request_set $email $upstream_http_x_auth_request_email;
			auth_request_set $groups $upstream_http_x_auth_request_groups;
			auth_request_set $jwt $upstream_http_x_auth_request_jwt;
			error_page 401 = @login;
			proxy_pass http://{{.App}};
			proxy_set_header X-User $user;
			proxy_set_header X-Auth-Request-User $user;
			proxy_set_header X-Auth-Request-Email $email;
			proxy_set_header X-Auth-Request-Groups $groups;
			proxy_set_header X-Auth-Request-Jwt $jwt;
		}

		# Public: no auth_request.
		location /pub/ {
			proxy_pass http://{{.App}};
		}
	}
}
`))

// startNginx runs nginx in the foreground on conf's address until the
// test ends. Under CI=true a missing nginx fails the test; otherwise it
// skips.
func startNginx(t *testing.T, listen, proxy, app string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	err = nginxConf.Execute(f, map[string]any{"Root": os.Geteuid() == 0, "Dir": dir, "Listen": listen, "Proxy": proxy, "App": app})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginxBin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	var out strings.Builder // read only once nginx has exited
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", listen)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", err, &out, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx does not listen on %s\n%s", listen, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freeAddr is a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// location is resp's Location, resolved against its request's URL.
func location(resp *http.Response) string {
	u, err := resp.Location()
	if err != nil {
		return ""
	}
	return u.String()
}

// TestNginxAuthRequest runs the proxy in forward-auth mode behind a real
// nginx with auth_request, as README.md configures it: a public location
// works without login; a protected one sends the browser through the
// login (401 → @login → /oauth2/start?rd= → provider → callback) back to
// where it was, and the app gets the user from the proxy's answer,
// whatever the client sent in the same headers; after sign-out the
// session is gone.
func TestNginxAuthRequest(t *testing.T) {
	if _, err := os.Stat(nginxBin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no nginx at %s (.ci/run installs it): %v", nginxBin, err)
		}
		t.Skipf("no nginx at %s (apt-get install nginx): %v", nginxBin, err)
	}
	op := oidctest.NewServer(oidctest.Config{User: oidctest.User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true, "groups": []any{"admins"}}}})
	defer op.Close()
	app := newEcho(t)
	front := freeAddr(t)
	origin := "http://" + front
	env := opEnv(op)
	env["OIDC_REDIRECT_URL"] = origin + "/oauth2/callback"
	p := startProxy(t, env, "--forward-auth", "--trusted-proxy", "127.0.0.1/32",
		"--inject-jwt", "--jwt-audience", "app")
	startNginx(t, front, strings.TrimPrefix(p.url, "http://"), strings.TrimPrefix(app.URL, "http://"))

	c := browser()
	noFollow := &http.Client{Jar: c.Jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// Public: no login, no identity.
	resp, body := fetch(t, c, http.MethodGet, origin+"/pub/page", navigation)
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/pub/page" {
		t.Fatalf("/pub/page: %d at %s: %q", resp.StatusCode, resp.Request.URL, body)
	}
	if got := decodeSeen(t, body); len(got.values("X-User")) > 0 || len(got.values(headerUser)) > 0 {
		t.Errorf("the public location got an identity: %v", got.Header)
	}
	// The auth endpoint is nginx's own.
	if resp, _ := fetch(t, c, http.MethodGet, origin+"/oauth2/auth", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/oauth2/auth from outside: %d, want 404 (internal)", resp.StatusCode)
	}

	// Without a session: to the login, whatever the client claims.
	spoof := http.Header{"Accept": {"text/html"}, "X-Forwarded-Uri": {"/pub/x"}, "X-Original-Uri": {"/pub/x"},
		"X-Forwarded-Method": {"GET"}, "X-User": {"mallory"}, "X-Auth-Request-User": {"mallory"}}
	resp, _ = fetch(t, noFollow, http.MethodGet, origin+"/app/x", spoof)
	if to := location(resp); resp.StatusCode != http.StatusFound || to != origin+"/oauth2/start?rd=/app/x" {
		t.Fatalf("/app/x without a session: %d to %q", resp.StatusCode, to)
	}
	if app.hits() != 1 {
		t.Fatalf("the app was reached without a session")
	}

	// The login, through nginx all the way, back at /app/x.
	resp, body = fetch(t, c, http.MethodGet, origin+"/app/x", navigation)
	if resp.StatusCode != 200 || resp.Request.URL.String() != origin+"/app/x" {
		t.Fatalf("login ended at %s: %d %q", resp.Request.URL, resp.StatusCode, body)
	}
	if got := decodeSeen(t, body); got.Path != "/app/x" {
		t.Errorf("the app got %s", got.Path)
	}
	check := func(t *testing.T, body string) {
		t.Helper()
		got := decodeSeen(t, body)
		for name, want := range map[string]string{"X-User": "alice", headerUser: "alice", headerEmail: "alice@example.com", headerGroups: "admins"} {
			if vs := got.values(name); len(vs) != 1 || vs[0] != want {
				t.Errorf("the app got %s %q, want %q", name, vs, want)
			}
		}
		if vs := got.values(headerJWT); len(vs) != 1 || strings.Count(vs[0], ".") != 2 {
			t.Errorf("the app got %s %q", headerJWT, vs)
		}
		if hs := got.containing("mallory"); len(hs) > 0 {
			t.Errorf("the client's headers reached the app: %q", hs)
		}
	}
	check(t, body)
	// The client's X-User and X-Auth-Request-User (in any spelling) do
	// not win.
	spoof = http.Header{"Accept": {"application/json"}, "X-User": {"mallory"}, "X-Auth-Request-User": {"mallory"},
		"X_Auth_Request_User": {"mallory"}, "X-Auth-Request-Email": {"mallory@evil.example"}}
	resp, body = fetch(t, c, http.MethodGet, origin+"/app/y", spoof)
	if resp.StatusCode != 200 {
		t.Fatalf("/app/y: %d %q", resp.StatusCode, body)
	}
	check(t, body)

	// Sign out through nginx; then /app/x needs a login again.
	req, _ := http.NewRequest(http.MethodPost, origin+"/oauth2/sign_out", nil)
	req.Header.Set("Origin", origin)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	resp, _ = fetch(t, noFollow, http.MethodGet, origin+"/app/x", navigation)
	if to := location(resp); resp.StatusCode != http.StatusFound || to != origin+"/oauth2/start?rd=/app/x" {
		t.Errorf("/app/x after sign-out: %d to %q, want the login", resp.StatusCode, to)
	}
}
