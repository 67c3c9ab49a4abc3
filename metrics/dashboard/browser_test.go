package dashboard_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/metrics/dashboard"
)

// findChromium returns the browser to drive, or skips (fails under CI=true)
// when none is installed.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (Debian package chromium), and CI=true requires the browser test")
	}
	t.Skip("chromium is not installed (Debian package chromium): skipping the browser test")
	return ""
}

// A real headless Chromium loads the page: it shows the open breaker, logs
// no error (a CSP violation would be one), throws no exception and
// requests nothing but the page itself.
func TestPageInHeadlessChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	exe := findChromium(t)
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
	if err := chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond)); err != nil { // let late console or CSP reports arrive
		t.Fatal(err)
	}
	if title != "Keel dashboard" || strings.TrimSpace(state) != "open" {
		t.Errorf("title %q, payments state %q; want Keel dashboard, open", title, state)
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
