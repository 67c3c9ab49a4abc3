package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/internal/testenv"
)

// screenshotsEnv names a directory where TestDashboardInBrowser also writes
// its screenshots under the names the READMEs show (docs/img/): set it to
// regenerate them (see examples/salesapi/README.md).
const screenshotsEnv = "KEEL_DASHBOARD_SCREENSHOTS"

// browserWatch records what a page did that a test must see: errors it
// reported and every URL it requested.
type browserWatch struct {
	mu       sync.Mutex
	errors   []string
	requests []string
}

func (w *browserWatch) observe(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		w.errors = append(w.errors, "uncaught exception: "+e.ExceptionDetails.Text)
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			w.errors = append(w.errors, "console "+string(e.Type))
		}
	case *log.EventEntryAdded: // CSP violations, failed loads
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			w.errors = append(w.errors, "log: "+e.Entry.Text)
		}
	case *network.EventRequestWillBeSent:
		w.requests = append(w.requests, e.Request.URL)
	}
}

// The operator's dashboard, in a real headless Chromium against the running
// sales API: it shows the payment breaker open within 10 s of the gateway
// going down and closed again after it recovers, lists /v1/orders among the
// routes, updates itself without reloading, reports no error and requests
// nothing outside the service. The screenshots are test artifacts.
func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	exe := testenv.Chromium(t)
	in := start(t, t.TempDir(), sqliteBackend)
	cust := in.createCustomer("dashboard@example.com", "+15550100")

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(exe),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 1000))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()
	watch := &browserWatch{}
	require.NoError(t, chromedp.Listen(ctx, watch.observe))
	_, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, log.Enable, cdp.Empty{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	// The admin's key, as the harness gives it, on every request the page makes.
	_, err = chromedp.Call(ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + in.Admin}})
	require.NoError(t, err)

	// Order traffic for the whole test, so the route is measured and the
	// breaker sees the gateway's failures. The gateway, down, answers 503
	// with Retry-After: 1, so an order spends about 4 s in its 5 attempts:
	// 12 clients give the breaker its 40 failures in a row within about 3 s.
	stop := make(chan struct{})
	var traffic sync.WaitGroup
	var seq atomic.Int64
	for w := range 12 {
		traffic.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(250 * time.Millisecond):
				}
				_, _ = tryCall(in, "POST", "/v1/orders", orderBody(cust, 1), fmt.Sprintf("dash-%d-%d", w, seq.Add(1)))
			}
		})
	}
	defer func() { close(stop); traffic.Wait() }()

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(in.URL+"/admin/dashboard/"),
		chromedp.WaitVisible(chromedp.CSS("#charts figure.chart canvas"))))
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	require.Equal(t, "Keel dashboard", title)
	// A reload would clear this: the page must update in place.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.keelLoadedOnce = true`))
	require.NoError(t, err)

	page := dashboardPage{t: t, ctx: ctx}
	page.waitFor("the payment breaker closed and /v1/orders listed", 15*time.Second, func() bool {
		return page.breakerState() == "closed" && page.routeListed("/v1/orders")
	})

	in.chaos(`{"down": true}`)
	down := time.Now()
	page.waitFor("the payment breaker open", 10*time.Second, func() bool { return page.breakerState() == "open" })
	t.Logf("breaker shown open %.1f s after the gateway went down", time.Since(down).Seconds())
	page.waitFor("the breaker chart's caption saying open", 5*time.Second, func() bool {
		return strings.Contains(page.text(`#charts`), "payment_gateway: open")
	})
	page.screenshot("dashboard-gateway-down.png")

	in.chaos(`{"down": false}`)
	up := time.Now()
	page.waitFor("the payment breaker leaving open", 15*time.Second, func() bool { return page.breakerState() != "open" })
	page.waitFor("the payment breaker closed", 20*time.Second, func() bool { return page.breakerState() == "closed" })
	t.Logf("breaker shown closed %.1f s after the gateway came back", time.Since(up).Seconds())
	page.screenshot("dashboard-recovering.png")

	reloaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.keelLoadedOnce !== true`))
	require.NoError(t, err)
	require.False(t, reloaded, "the page reloaded instead of updating in place")

	watch.mu.Lock()
	defer watch.mu.Unlock()
	require.Empty(t, watch.errors, "the browser reported errors")
	require.NotEmpty(t, watch.requests, "no request seen: the network listener is not working")
	var api int
	for _, u := range watch.requests {
		require.True(t, strings.HasPrefix(u, in.URL+"/"), "the page requested %s, outside the service", u)
		if strings.HasSuffix(u, "/admin/dashboard/api") {
			api++
		}
	}
	require.Greater(t, api, 2, "the page polled the API %d times", api)
}

// dashboardPage reads the dashboard as the browser shows it.
type dashboardPage struct {
	t   *testing.T
	ctx context.Context
}

func (p dashboardPage) eval(js string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	require.NoError(p.t, err)
	return s
}

// breakerState is the state cell of payment_gateway's row in the breaker
// table, "" when there is no such row.
func (p dashboardPage) breakerState() string {
	return p.eval(`(function () {
		for (const td of document.querySelectorAll("table td:first-child")) {
			if (td.textContent === "payment_gateway" && td.nextElementSibling) { return td.nextElementSibling.textContent; }
		}
		return "";
	})()`)
}

func (p dashboardPage) routeListed(route string) bool {
	return p.eval(`Array.from(document.querySelectorAll("table td")).some(td => td.textContent === `+
		fmt.Sprintf("%q", route)+`) ? "yes" : ""`) == "yes"
}

func (p dashboardPage) text(selector string) string {
	return p.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, selector))
}

// waitFor polls the page until cond holds, failing after limit.
func (p dashboardPage) waitFor(what string, limit time.Duration, cond func() bool) {
	p.t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		if time.Now().After(deadline) {
			p.t.Fatalf("the dashboard did not show %s within %s; breaker state %q", what, limit, p.breakerState())
		}
		require.NoError(p.t, chromedp.Do(p.ctx, chromedp.Sleep(200*time.Millisecond)))
	}
}

// screenshot saves the viewport as a test artifact, and in $KEEL_DASHBOARD_SCREENSHOTS when set.
func (p dashboardPage) screenshot(name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	require.NoError(p.t, err)
	dirs := []string{p.t.ArtifactDir()}
	if d := os.Getenv(screenshotsEnv); d != "" {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		require.NoError(p.t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	}
	p.t.Logf("screenshot %s: %d bytes in %q", name, len(png), dirs)
}
