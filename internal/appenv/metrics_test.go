package appenv

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
)

func TestMetricsOff(t *testing.T) {
	obs, h, closeMetrics, err := NewMetrics("")
	if obs != nil || h != nil || closeMetrics == nil || err != nil {
		t.Fatalf(`NewMetrics(""): %v, %v, close set %t, %v`, obs, h, closeMetrics != nil, err)
	}
	closeMetrics()
}

func TestMetricsUnknownKind(t *testing.T) {
	_, _, closeMetrics, err := NewMetrics("statsd")
	if err == nil || !strings.Contains(err.Error(), "METRICS") || !strings.Contains(err.Error(), `"statsd"`) ||
		!strings.Contains(err.Error(), "prometheus") {
		t.Fatalf("NewMetrics(statsd): %v", err)
	}
	closeMetrics()
}

// TestMetricsPrometheus: events told to the observer show up at the
// handler as Prometheus series, with their labels.
func TestMetricsPrometheus(t *testing.T) {
	obs, h, closeMetrics, err := NewMetrics("prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer closeMetrics()
	const iss = "https://op.example.com"
	ctx := context.Background()
	obs.Observe(ctx, oidcmw.Event{Kind: oidcmw.EventLogin, Issuer: iss, Duration: 3 * time.Second})
	for range 2 {
		obs.Observe(ctx, oidcmw.Event{Kind: oidcmw.EventLogin, Issuer: iss,
			Err: oidcmw.ErrStateMismatch, Reason: "state_mismatch"})
	}

	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"oidcmw_logins_total", []string{`outcome="success"`, `provider="` + iss + `"`}, 1},
		{"oidcmw_logins_total", []string{`outcome="failure"`, `reason="state_mismatch"`, `provider="` + iss + `"`}, 2},
		{"oidcmw_login_duration_seconds_count", []string{`outcome="success"`}, 1},
		{"oidcmw_login_duration_seconds_sum", []string{`outcome="success"`}, 3},
	} {
		if got, ok := sample(body, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %t), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := sample(body, "oidcmw_logins_total", `outcome="success"`, `reason=`); ok {
		t.Error("a successful login has a reason label")
	}
	if t.Failed() {
		t.Log(body)
	}
}

// sample returns the value of the one series of metric name in the
// Prometheus text exposition body whose labels include every one of labels
// (`key="value"`, or `key=` for the key alone).
func sample(body, name string, labels ...string) (float64, bool) {
	for line := range strings.Lines(body) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), name+"{")
		if !ok {
			continue
		}
		set, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && (strings.HasPrefix(set, l) || strings.Contains(set, ","+l))
		}
		if all {
			v, err := strconv.ParseFloat(value, 64)
			return v, err == nil
		}
	}
	return 0, false
}
