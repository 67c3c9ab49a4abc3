package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func apiBody(t *testing.T, d *Dashboard) string {
	t.Helper()
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/d/api", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("api answered %d", rec.Code)
	}
	return rec.Body.String()
}

// The API answers from a document built once per sample: never a stale one,
// and, while a client polls, built by the sampler before the next poll.
func TestAPIDocumentFollowsSamplesAndIsBuiltAheadWhileWatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, err := New(Config{Public: true, Interval: 5 * time.Second, RateWindow: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		mp := sdkmetric.NewMeterProvider(d.Option())
		defer func() { _ = d.Close(); _ = mp.Shutdown(context.Background()) }()
		var goroutines atomic.Int64
		goroutines.Store(7)
		_, err = mp.Meter("t").Int64ObservableGauge("go.goroutine.count", metric.WithInt64Callback(
			func(_ context.Context, o metric.Int64Observer) error { o.Observe(goroutines.Load()); return nil }))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5*time.Second + time.Millisecond)
		synctest.Wait()
		if body := apiBody(t, d); !strings.Contains(body, `"goroutines":7`) {
			t.Fatalf("first document lacks the sampled gauge: %.300s", body)
		}

		// The client is watching: the next sample's document is built by
		// the sampler, before any request.
		goroutines.Store(9)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		d.api.mu.Lock()
		built := string(d.api.body)
		d.api.mu.Unlock()
		if !strings.Contains(built, `"goroutines":9`) {
			t.Fatalf("the sampler did not build the watched document ahead: %.300s", built)
		}
		if body := apiBody(t, d); body != built {
			t.Fatal("the request did not get the document built ahead")
		}

		// Nobody polls for longer than the watch window: nothing is built
		// ahead, and the next request still sees the latest sample.
		goroutines.Store(11)
		time.Sleep(d.cfg.watchWindow() + 10*time.Second)
		synctest.Wait()
		d.mu.Lock()
		version := d.version
		d.mu.Unlock()
		d.api.mu.Lock()
		builtVersion := d.api.version
		d.api.mu.Unlock()
		if builtVersion == version {
			t.Error("the sampler kept building documents nobody asked for")
		}
		if body := apiBody(t, d); !strings.Contains(body, `"goroutines":11`) {
			t.Fatalf("after an idle spell the request got a stale document: %.300s", body)
		}
	})
}
