package otelobserver_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/otelobserver"
	"github.com/oidcmw/oidcmw/oidctest"
)

// A login through the provider, counted on an OpenTelemetry SDK
// MeterProvider. A real application gives the provider a periodic OTLP
// reader or the Prometheus exporter instead of a ManualReader.
func ExampleNew() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	obs, err := otelobserver.New(mp)
	if err != nil {
		log.Fatal(err)
	}

	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	m, err := oidcmw.New(oidcmw.Options{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL:  app.URL + "/auth/callback",
		Observer:     obs,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.HandleFunc("GET /auth/callback", m.Callback)
	mux.Handle("/", m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	})))

	jar, _ := cookiejar.New(nil)
	req, _ := http.NewRequest(http.MethodGet, app.URL+"/", nil)
	req.Header.Set("Accept", "text/html") // a browser: the guard sends it to log in
	resp, err := (&http.Client{Jar: jar}).Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, met := range sm.Metrics {
			if sum, ok := met.Data.(metricdata.Sum[int64]); ok {
				for _, p := range sum.DataPoints {
					outcome, _ := p.Attributes.Value("outcome")
					fmt.Println(met.Name, outcome.AsString(), p.Value)
				}
			}
		}
	}
	// Output: oidcmw.logins success 1
}
