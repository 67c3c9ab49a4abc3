package dashboard_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"go.opentelemetry.io/otel/metric"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/internal/testenv"
	"github.com/keel-go/keel/metrics/dashboard"
)

// A real headless Chromium loads the page: it shows the open breaker, runs
// the page's script (charts drawn, tables updated in place, keyboard
// reachable), logs no error (a CSP violation would be one), throws no
// exception and requests nothing outside the service.
func TestPageInHeadlessChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	exe := testenv.Chromium(t)
	d, mp := newDashboard(t, dashboard.Config{Interval: 100 * time.Millisecond, RateWindow: time.Second})
	b, err := breaker.New(breaker.Config{Name: "payments", ConsecutiveFailures: 1, OpenDuration: time.Hour, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s := d.Snapshot(); len(s.Breakers) == 1 && s.Breakers[0].State == "open" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dashboard did not sample the open breaker within 10 s")
		}
	}
	srv := httptest.NewServer(d)
	defer srv.Close()

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	var mu sync.Mutex
	var problems, requests []string
	err = chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				problems = append(problems, "console error")
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				problems = append(problems, "log error: "+e.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, enable := range []func() error{
		func() error { _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); return err },
		func() error { _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); return err },
		func() error { _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); return err },
	} {
		if err := enable(); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/admin/dashboard/"), chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	state, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search(`//td[text()="payments"]/following-sibling::td[1]`)))
	if err != nil {
		t.Fatal(err)
	}
	if title != "Keel dashboard" || strings.TrimSpace(state) != "open" {
		t.Errorf("title %q, payments state %q; want Keel dashboard, open", title, state)
	}
	checkScript(t, ctx, mp)
	if err := chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond)); err != nil { // let late console or CSP reports arrive
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the browser reported: %q", problems)
	}
	if len(requests) == 0 {
		t.Error("no request seen: the network listener is not working")
	}
	for _, u := range requests {
		if !strings.HasPrefix(u, srv.URL+"/") {
			t.Errorf("the page requested %s, outside the service", u)
		}
	}
}

// evalIn evaluates a JavaScript expression in the page.
func evalIn[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// eventually polls cond in the page for up to 10 s.
func eventually(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !evalIn[bool](t, ctx, cond); {
		if time.Now().After(deadline) {
			t.Fatalf("the page did not show %s within 10 s (%s)", what, cond)
		}
		if err := chromedp.Do(ctx, chromedp.Sleep(50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
}

// checkScript proves what the page's script adds: a chart per history
// series with units and the breaker's state in words and colour, a row for
// a breaker that appeared after the page loaded (without reloading it), and
// charts that the keyboard reaches and reads.
func checkScript(t *testing.T, ctx context.Context, mp metric.MeterProvider) {
	t.Helper()
	eventually(t, ctx, "the breaker chart", `!!document.querySelector("#charts figure.chart canvas")`)
	caption := evalIn[string](t, ctx, `document.querySelector("#charts figure.chart figcaption").textContent`)
	if !strings.Contains(caption, "Breaker state (state)") || !strings.Contains(caption, "payments: open") {
		t.Errorf("first chart's caption %q, want the breaker state with payments: open", caption)
	}
	if cls := evalIn[string](t, ctx, `document.querySelector("#charts figure.chart figcaption b").className`); cls != "bad" {
		t.Errorf("open is shown with class %q, want bad (red)", cls)
	}
	// uPlot draws the axes' labels on the canvas, where the DOM cannot read
	// them; each chart's caption names the same unit.
	captions := evalIn[string](t, ctx, `Array.from(document.querySelectorAll("#charts figcaption strong")).map(e => e.textContent).join("|")`)
	for _, unit := range []string{"Breaker state (state)", "Goroutines (goroutines)", "Go memory used (MiB)", "CPU (cores)"} {
		if !strings.Contains(captions, unit) {
			t.Errorf("chart captions %q lack %q", captions, unit)
		}
	}
	evalIn[bool](t, ctx, `window.keelLoadedOnce = true`)
	b, err := breaker.New(breaker.Config{Name: "inventory", MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Do(context.Background(), func(context.Context) error { return nil })
	eventually(t, ctx, "the new breaker's row and chart series",
		`Array.from(document.querySelectorAll("table td")).some(td => td.textContent === "inventory") &&
		 document.querySelector("#charts figure.chart figcaption").textContent.includes("inventory: closed")`)
	if !evalIn[bool](t, ctx, `window.keelLoadedOnce === true`) {
		t.Error("the page reloaded instead of updating in place")
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	if got := evalIn[string](t, ctx, `document.activeElement.className + ":" + document.activeElement.getAttribute("aria-label")`); !strings.HasPrefix(got, "chart:Breaker state") {
		t.Errorf("Tab focused %q, want the first chart", got)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.End)); err != nil {
		t.Fatal(err)
	}
	legend := evalIn[string](t, ctx, `document.activeElement.querySelector(".u-legend").textContent`)
	if !strings.Contains(legend, "open") || !strings.Contains(legend, "closed") {
		t.Errorf("after End the legend reads %q, want payments open and inventory closed", legend)
	}
}
