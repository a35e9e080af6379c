package appenv

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/otelobserver"
)

// NewMetrics returns the Observer and the metrics handler for METRICS=kind:
//
//   - "": no metrics; nil observer and handler, a close that does nothing.
//   - "prometheus": adapters/otelobserver on an OpenTelemetry MeterProvider
//     whose reader is the OpenTelemetry Prometheus exporter, registered on a
//     registry of its own (not the global one), served in the Prometheus
//     text format. close shuts the MeterProvider down.
//
// Anything else is a configuration error naming METRICS and the accepted
// values. close is never nil, so that it can be deferred at once.
func NewMetrics(kind string) (obs oidcmw.Observer, handler http.Handler, close func(), err error) {
	nop := func() {}
	switch kind {
	case "":
		return nil, nil, nop, nil
	case "prometheus":
		reg := prometheus.NewRegistry()
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			return nil, nil, nop, fmt.Errorf("METRICS: %w", err)
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
		o, err := otelobserver.New(mp)
		if err != nil {
			mp.Shutdown(context.Background())
			return nil, nil, nop, fmt.Errorf("METRICS: %w", err)
		}
		return o, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), func() { mp.Shutdown(context.Background()) }, nil
	default:
		return nil, nil, nop, fmt.Errorf("METRICS %q: want \"prometheus\" or unset", kind)
	}
}
