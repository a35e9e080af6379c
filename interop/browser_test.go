package interop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// caseTimeout bounds each test case: every browser action of a case runs
// under it.
const caseTimeout = 30 * time.Second

// One Chromium serves the whole test binary; each case gets its own tabs in
// a fresh browser context (its own cookies, like an incognito window).
var browser struct {
	once   sync.Once
	ctx    context.Context // holds the started browser
	err    error           // why it could not start
	cancel func()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	removeExampleBuild()
	os.Exit(code)
}

// chromiumPath finds the browser: $OIDCMW_CHROMIUM, else the usual names on
// PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("OIDCMW_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on PATH (apt-get install chromium, or set OIDCMW_CHROMIUM)")
}

func startBrowser() (context.Context, func(), error) {
	path, err := chromiumPath()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "oidcmw-interop-chromium-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// Only loopback exists here: names (the OP's dev pages import a web
		// font) fail at once instead of waiting for DNS.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	cancel := func() {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(dir)
	}
	// The first Run starts the browser and binds it to ctx, which has no
	// deadline; bound the start itself with a timer.
	timer := time.AfterFunc(30*time.Second, cancel)
	err = chromedp.Do(ctx)
	if !timer.Stop() {
		err = fmt.Errorf("chromium did not start within 30s: %v", err)
	}
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("start %s: %w", path, err)
	}
	return ctx, cancel, nil
}

// requireBrowser starts the shared browser on first use, and skips the test
// (fails it with CI=true) when there is none.
func requireBrowser(t *testing.T) {
	t.Helper()
	browser.once.Do(func() {
		browser.ctx, browser.cancel, browser.err = startBrowser()
	})
	if browser.err != nil {
		missing(t, browser.err.Error())
	}
}

// newBrowserContext returns a tab in a new browser context (no cookies) of
// the shared browser. Every action on it, and on tabs opened from it, ends
// after caseTimeout.
func newBrowserContext(t *testing.T) context.Context {
	t.Helper()
	requireBrowser(t)
	caseCtx, cancelCase := context.WithTimeout(browser.ctx, caseTimeout)
	tab, cancelTab := chromedp.NewContext(caseCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(func() {
		cancelTab()
		cancelCase()
	})
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return tab
}

// newTab opens another tab in the browser context of ctx: it shares the
// cookies of ctx's tab.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return tab
}

// pageKind returns a script that tells the OP's pages apart by the
// selectors of ui: "login", "consent", "logout", "other", or "" while the
// page loads or after browse submitted its form.
func pageKind(ui opUI) string {
	return `(() => {
	if (document.readyState !== 'complete' || window.__interopSubmitted) return '';
	const has = s => s !== '' && document.querySelector(s) !== null;
	if (has(` + jsString(ui.login) + `)) return 'login';
	if (has(` + jsString(ui.consent) + `)) return 'consent';
	if (has(` + jsString(ui.logout) + `)) return 'logout';
	return 'other';
})()`
}

// browse runs the user's side of the OP's pages until the tab's location
// satisfies done: it signs in as the OP's account for user on its login
// form, confirms consent, and confirms a logout. Each step is real typing
// and clicking in the page. It returns the final location and the pages it
// acted on, in order. Polling is unavoidable here (the pages load after
// redirects the test does not trigger itself); the case's deadline bounds
// it.
func browse(t *testing.T, ctx context.Context, o op, user string, done func(loc string) bool) (string, []string) {
	t.Helper()
	ui, acct := o.ui(), o.account(user)
	kindScript := pageKind(ui)
	var last, otherLoc string
	var steps []string
	var otherSince time.Time
	for {
		if ctx.Err() != nil {
			t.Fatalf("browser: %v; last location %q", ctx.Err(), last)
		}
		loc, kind, err := whereKind(ctx, kindScript)
		if err != nil { // between two documents
			time.Sleep(25 * time.Millisecond)
			continue
		}
		last = loc
		if kind != "" && done(loc) {
			return loc, steps
		}
		switch kind {
		case "login", "consent", "logout":
			if len(steps) > 0 && steps[len(steps)-1] == kind {
				// The OP showed the page again: it refused what was
				// entered (wrong password, expired request).
				body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
				t.Fatalf("the OP's %s page came back at %s:\n%s", kind, loc, body)
			}
			steps = append(steps, kind)
		}
		switch kind {
		case "login":
			err = chromedp.Do(ctx,
				chromedp.SendKeys(ui.login, acct.login),
				chromedp.SendKeys(ui.password, acct.password),
				markSubmitted(),
				chromedp.Click(ui.submit),
			)
		case "consent":
			err = chromedp.Do(ctx, markSubmitted(), chromedp.Click(ui.consentSubmit))
		case "logout":
			err = chromedp.Do(ctx, markSubmitted(), chromedp.Click(ui.logout))
		case "other":
			// Pages in passing (the OP's self-submitting form_post page)
			// show for a moment; a page that stays is where the flow stopped.
			if loc != otherLoc {
				otherLoc, otherSince = loc, time.Now()
			} else if time.Since(otherSince) > 3*time.Second {
				body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
				t.Fatalf("browser stopped at %s, which is neither the OP's form nor the expected page:\n%s", loc, body)
			}
			time.Sleep(25 * time.Millisecond)
		default: // loading
			time.Sleep(25 * time.Millisecond)
		}
		if err != nil && ctx.Err() == nil {
			// A navigation raced the action; the next round looks again.
			t.Logf("browser: %s on %s: %v", kind, loc, err)
		}
	}
}

// markSubmitted flags the current document, so that browse does not act on
// it twice while its form submission is on the way.
func markSubmitted() chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`window.__interopSubmitted = true`)
}

// where reports the tab's location and which of o's pages it shows (""
// while it loads).
func where(ctx context.Context, o op) (loc, kind string, err error) {
	return whereKind(ctx, pageKind(o.ui()))
}

func whereKind(ctx context.Context, kindScript string) (loc, kind string, err error) {
	type state struct {
		Loc  string `json:"loc"`
		Kind string `json:"kind"`
	}
	s, err := chromedp.Run(ctx, chromedp.Evaluate[state](`({loc: location.href, kind: `+kindScript+`})`))
	return s.Loc, s.Kind, err
}

// navigate loads u in the tab (following redirects) and returns where the
// browser ended up.
func navigate(t *testing.T, ctx context.Context, u string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("navigate %s: %v", u, err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("location: %v", err)
	}
	return loc
}

// at returns a done condition for browse: the tab shows exactly u.
func at(u string) func(string) bool {
	return func(loc string) bool { return loc == u }
}

// under returns a done condition for browse: the tab shows a URL that
// starts with prefix.
func under(prefix string) func(string) bool {
	return func(loc string) bool { return strings.HasPrefix(loc, prefix) }
}
