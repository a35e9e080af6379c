package oidcmw_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// TestLimits: each limit is an option; lowering it refuses what the
// default accepts.
func TestLimits(t *testing.T) {
	cases := []struct {
		name   string
		limits oidcmw.Limits
		tamper func(h *harness, cb string) string
		status int
		err    error
	}{
		{"MaxParamBytes", oidcmw.Limits{MaxParamBytes: 100},
			func(h *harness, cb string) string { return cb + "&x=" + strings.Repeat("a", 200) }, 400, oidcmw.ErrInvalidCallback},
		{"MaxRequestBytes", oidcmw.Limits{MaxRequestBytes: 512},
			func(h *harness, cb string) string { return cb + "&x=" + strings.Repeat("a", 600) }, 400, oidcmw.ErrInvalidCallback},
		{"MaxTokenBytes", oidcmw.Limits{MaxTokenBytes: 100}, nil, 401, oidcmw.ErrInvalidIDToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The default accepts the same input.
			for _, lowered := range []bool{false, true} {
				h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
					if lowered {
						o.Limits = tc.limits
					}
				}})
				cb := h.authorize(h.browser, h.startLogin(h.browser, "/"))
				if tc.tamper != nil {
					cb = tc.tamper(h, cb)
				}
				resp, _ := h.callback(h.browser, cb)
				switch {
				case !lowered && resp.StatusCode != 303:
					t.Fatalf("default limits refused it: %d %v", resp.StatusCode, h.lastErr())
				case lowered && (resp.StatusCode != tc.status || !errors.Is(h.lastErr(), tc.err)):
					t.Fatalf("lowered limit: %d %v", resp.StatusCode, h.lastErr())
				}
			}
		})
	}
}

func TestLimitMaxDocumentBytes(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.Limits.MaxDocumentBytes = 200 }})
	resp, _ := h.navigate(h.browser, "/")
	if resp.StatusCode != 502 || !errors.Is(h.lastErr(), oidcmw.ErrProviderUnavailable) {
		t.Fatalf("oversized discovery document: %d %v", resp.StatusCode, h.lastErr())
	}
}

func TestLimitKeyRefetchInterval(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.Limits.KeyRefetchInterval = time.Minute }})
	h.login(h.browser, "/")
	h.op.Misbehave(oidctest.UnrelatedKey)
	for range 2 {
		c := h.newBrowser()
		h.callback(c, h.authorize(c, h.startLogin(c, "/")))
		h.clock.Advance(10 * time.Second) // more than the default 5 s
	}
	if n := h.op.Count("/jwks"); n != 2 {
		t.Fatalf("JWKS fetched %d times within the interval, want 2", n)
	}
}

func TestLimitsValidated(t *testing.T) {
	if _, err := oidcmw.New(oidcmw.Options{Issuer: "https://op.example", ClientID: "c",
		RedirectURL: "https://app.example/cb", Limits: oidcmw.Limits{MaxTokenBytes: -1}}); err == nil {
		t.Fatal("negative limit accepted")
	}
}
