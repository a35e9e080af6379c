package redisstore_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/redisstore"
	"github.com/oidcmw/oidcmw/oidctest"
)

// TestTwoInstances runs two app instances sharing one Redis behind a
// round-robin balancer: a login started on one completes on the other, both
// serve the session, and a callback delivered to both at once is redeemed
// once.
func TestTwoInstances(t *testing.T) {
	c := client(t)
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()

	var instances [2]http.Handler
	var next atomic.Uint32
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		instances[next.Add(1)%2].ServeHTTP(w, r)
	}))
	defer lb.Close()
	for i := range instances {
		m, err := oidcmw.New(oidcmw.Options{
			Issuer: op.URL, ClientID: oidctest.DefaultClientID, ClientSecret: oidctest.DefaultClientSecret,
			RedirectURL: lb.URL + "/auth/callback",
			Store:       redisstore.New(c),
			SecretKeys:  [][]byte{[]byte(strings.Repeat("k", 32))},
		})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/auth/callback", m.Callback)
		mux.Handle("/", m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := oidcmw.FromContext(r.Context())
			io.WriteString(w, id.Subject)
		})))
		instances[i] = mux
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	authURL := get(lb.URL + "/me").Header.Get("Location") // instance A
	callback := get(authURL).Header.Get("Location")

	// The same callback reaches both instances at once: one wins.
	var wg sync.WaitGroup
	var wins atomic.Int32
	for range 2 {
		wg.Go(func() {
			if get(callback).StatusCode == http.StatusSeeOther {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d callbacks succeeded, want exactly 1", wins.Load())
	}
	for range 4 { // alternates between the instances
		if resp := get(lb.URL + "/me"); resp.StatusCode != http.StatusOK {
			t.Fatalf("/me on a second instance: %d", resp.StatusCode)
		}
	}
}
