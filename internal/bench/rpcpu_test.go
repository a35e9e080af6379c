package bench

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/oidcmw/oidcmw"
)

// BenchmarkLoginCPU is BenchmarkLogin with the relying party in a process
// of its own, so that its CPU time can be read exactly: rp-cpu-ns/op is
// the CPU time (user and system, all threads, from getrusage) the relying
// party process spent per login, which excludes the provider and the
// browser (both in the benchmark process). It counts everything the app
// costs: handlers, net/http, its client to the provider, the collector,
// the scheduler. The process is this test binary run again as
// TestHelperRP. With OIDCMW_BENCH_RP_PROFILES=<dir>, each relying party
// process writes a CPU profile there.
func BenchmarkLoginCPU(b *testing.B) {
	for _, alg := range algs {
		b.Run("alg="+alg, func(b *testing.B) {
			for _, impl := range []string{"handwritten", "oidcmw"} {
				b.Run("impl="+impl, func(b *testing.B) {
					op := newProvider(b, alg) // fresh for each run, as in BenchmarkLogin
					rp := startRP(b, impl, op.URL)
					tr := newTransport(b)
					login(b, newBrowser(b, tr), rp.url, op.URL) // warm up
					start, n := rp.cpu(b), 0
					for b.Loop() {
						login(b, newBrowser(b, tr), rp.url, op.URL)
						n++
					}
					b.ReportMetric(float64(rp.cpu(b)-start)/float64(n), "rp-cpu-ns/op")
				})
			}
		})
	}
}

// rpProcess is a relying party app served by a child process.
type rpProcess struct {
	url    string // the app
	cpuURL string // answers the process's CPU time so far, in ns
}

// startRP runs TestHelperRP in a child process serving impl against the
// provider at issuer, and stops it when b ends.
func startRP(b *testing.B, impl, issuer string) *rpProcess {
	b.Helper()
	args := []string{"-test.run=^TestHelperRP$", "-test.count=1"}
	if dir := os.Getenv("OIDCMW_BENCH_RP_PROFILES"); dir != "" {
		args = append(args, "-test.cpuprofile="+filepath.Join(dir, fmt.Sprintf("rp-%s-%s.prof", impl, b.Name()[strings.LastIndex(b.Name(), "alg=")+4:strings.LastIndex(b.Name(), "/")])))
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "OIDCMW_BENCH_RP="+impl, "OIDCMW_BENCH_ISSUER="+issuer)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the helper returns when its stdin closes
		cmd.Wait()
	})
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			b.Fatalf("relying party process: %v", err)
		}
		if f := strings.Fields(line); len(f) == 3 && f[0] == "RP" {
			go io.Copy(io.Discard, r)
			return &rpProcess{url: f[1], cpuURL: f[2]}
		}
	}
}

func (p *rpProcess) cpu(b *testing.B) int64 {
	resp, err := http.Get(p.cpuURL)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	ns, err := strconv.ParseInt(string(body), 10, 64)
	if err != nil {
		b.Fatalf("relying party CPU: %q", body)
	}
	return ns
}

// TestHelperRP is not a test but the relying party process of
// BenchmarkLoginCPU (the os/exec TestHelperProcess pattern): it does
// nothing unless OIDCMW_BENCH_RP names the app to serve ("handwritten" or
// "oidcmw") against OIDCMW_BENCH_ISSUER. It prints
// "RP <app URL> <CPU URL>" and serves until its stdin closes.
func TestHelperRP(t *testing.T) {
	impl, issuer := os.Getenv("OIDCMW_BENCH_RP"), os.Getenv("OIDCMW_BENCH_ISSUER")
	if impl == "" {
		return
	}
	var url string
	switch impl {
	case "handwritten":
		url = newHandwritten(t, issuer).srv.URL
	case "oidcmw":
		url = newOIDCMWApp(t, issuer, oidcmw.Options{}).srv.URL
	default:
		t.Fatalf("OIDCMW_BENCH_RP=%q", impl)
	}
	cpu := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, ru.Utime.Nano()+ru.Stime.Nano())
	}))
	defer cpu.Close()
	fmt.Printf("RP %s %s\n", url, cpu.URL)
	io.Copy(io.Discard, os.Stdin)
}
