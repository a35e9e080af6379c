package bench

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkProxyCPU measures the CPU time (user and system, all threads,
// from /proc/PID/stat) that a proxy process spends per request, as
// proxy-cpu-ns/op, in the same run for:
//
//   - impl=bare: httputil.ReverseProxy with Rewrite and nothing else (this
//     test binary run again as TestHelperBareProxy): the baseline;
//   - impl=oidcmw-proxy: cmd/oidcmw-proxy (built from the workspace) in
//     reverse-proxy mode on its development provider, one authenticated
//     request of a signed-in browser;
//   - impl=oidcmw-proxy-auth: cmd/oidcmw-proxy --forward-auth, one
//     /oauth2/auth check of a signed-in browser, as nginx auth_request
//     makes it.
//
// The upstream (an app answering "ok") and the client run in the
// benchmark process, so only the proxy's own work is counted. The goal of
// issue #21 is oidcmw-proxy at most 1.5× bare.
func BenchmarkProxyCPU(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer upstream.Close()
	bin := buildProxy(b)
	for _, impl := range []string{"bare", "oidcmw-proxy", "oidcmw-proxy-auth"} {
		b.Run("impl="+impl, func(b *testing.B) {
			var p *childProxy
			target := "/app"
			header := http.Header{}
			switch impl {
			case "bare":
				p = startChild(b, exec.Command(os.Args[0], "-test.run=^TestHelperBareProxy$", "-test.count=1"),
					"OIDCMW_BENCH_BARE_UPSTREAM="+upstream.URL)
			case "oidcmw-proxy":
				p = startChild(b, exec.Command(bin, "--dev", "--addr", "127.0.0.1:0", "--upstream", upstream.URL))
			case "oidcmw-proxy-auth":
				p = startChild(b, exec.Command(bin, "--dev", "--addr", "127.0.0.1:0", "--forward-auth", "--trusted-proxy", "127.0.0.1/32"))
				target = "/oauth2/auth"
				header.Set("X-Forwarded-Uri", "/app")
				header.Set("X-Forwarded-Method", http.MethodGet)
			}
			tr := newTransport(b)
			c := &http.Client{Transport: tr}
			if impl != "bare" {
				c = signInThroughProxy(b, tr, p.url)
			}
			do := func() {
				// A request each time: the client's jar adds its cookie to
				// the request it is given.
				req, _ := http.NewRequest(http.MethodGet, p.url+target, nil)
				req.Header = header.Clone()
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					b.Fatalf("%s %s: %d", impl, target, resp.StatusCode)
				}
			}
			do() // warm up
			start, n := p.cpu(b), 0
			for b.Loop() {
				do()
				n++
			}
			b.ReportMetric(float64(p.cpu(b)-start)/float64(n), "proxy-cpu-ns/op")
		})
	}
}

// buildProxy builds cmd/oidcmw-proxy from the workspace once per run.
func buildProxy(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "oidcmw-proxy")
	build := exec.Command("go", "build", "-o", bin, "github.com/oidcmw/oidcmw/cmd/oidcmw-proxy")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building oidcmw-proxy: %v\n%s", err, out)
	}
	return bin
}

// childProxy is a proxy in a process of its own.
type childProxy struct {
	url string
	pid int
}

var childListening = regexp.MustCompile(`(?:msg=listening url=|BARE )(http://[^/ \n]+)`)

// startChild starts cmd (with env added) and waits for the line that gives
// its URL; it is killed when b ends.
func startChild(b *testing.B, cmd *exec.Cmd, env ...string) *childProxy {
	b.Helper()
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if m := childListening.FindStringSubmatch(line); m != nil {
				found <- m[1]
				io.Copy(io.Discard, r)
				return
			}
			if err != nil {
				close(found)
				return
			}
		}
	}()
	select {
	case u, ok := <-found:
		if !ok {
			b.Fatal("the proxy process ended before it listened")
		}
		return &childProxy{url: u, pid: cmd.Process.Pid}
	case <-time.After(30 * time.Second):
		b.Fatal("the proxy process did not listen within 30 s")
		return nil
	}
}

// cpu is the process's CPU time so far (utime + stime from /proc), in ns.
func (p *childProxy) cpu(b *testing.B) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTick = int64(time.Second / 100) // USER_HZ on Linux
	return (utime + stime) * clockTick
}

// signInThroughProxy signs a browser in at the proxy on its development
// provider and returns it.
func signInThroughProxy(b *testing.B, tr http.RoundTripper, proxyURL string) *http.Client {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: tr, Jar: jar}
	resp, err := c.Get(proxyURL + "/oauth2/start?return_to=/")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(proxyURL)
	if len(jar.Cookies(u)) == 0 {
		b.Fatalf("no session after signing in at the proxy (%d)", resp.StatusCode)
	}
	return &http.Client{Transport: tr, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// TestHelperBareProxy is not a test but the baseline proxy process of
// BenchmarkProxyCPU: httputil.ReverseProxy to OIDCMW_BENCH_BARE_UPSTREAM.
// It prints "BARE <URL>" and serves until killed.
func TestHelperBareProxy(t *testing.T) {
	up := os.Getenv("OIDCMW_BENCH_BARE_UPSTREAM")
	if up == "" {
		return
	}
	target, err := url.Parse(up)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.SetXForwarded()
	}}
	srv := httptest.NewServer(rp)
	defer srv.Close()
	fmt.Fprintf(os.Stderr, "BARE %s\n", srv.URL)
	select {}
}
