package dashboard

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"gzip, deflate, br, zstd"}, true}, // Chromium's
		{[]string{"br", "GZIP"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"identity"}, false},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.5"}, true},
		{[]string{"*"}, false}, // identity stays acceptable, as /metrics answers
		{[]string{"*, identity;q=0"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false},    // gzip named and refused: the star does not apply
		{[]string{"*;q=0, gzip;q=1"}, true}, // gzip named and admitted
		{[]string{"gzip;level=1;q=0"}, false},
		{[]string{"deflate", "gzip"}, true}, // the lines are one list
		{[]string{"gzip;q=bogus"}, false},
		{[]string{"gzip;q=2"}, false},
		{[]string{"gzipx"}, false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/d/api", nil)
		for _, v := range c.accept {
			r.Header.Add("Accept-Encoding", v)
		}
		if got := acceptsGzip(r); got != c.want {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", c.accept, got, c.want)
		}
	}
}

// A client that accepts gzip gets the same document, compressed, with
// Content-Encoding and Vary; one that does not gets it plain.
func TestAPIIsGzippedForClientsThatAcceptIt(t *testing.T) {
	d, err := New(Config{Public: true})
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(d.Option())
	defer func() { _ = d.Close(); _ = mp.Shutdown(context.Background()) }()
	d.sample(context.Background(), time.Now())

	plain := httptest.NewRecorder()
	d.ServeHTTP(plain, httptest.NewRequest(http.MethodGet, "/d/api", nil))
	if plain.Code != http.StatusOK || plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("plain request: %d, Content-Encoding %q", plain.Code, plain.Header().Get("Content-Encoding"))
	}

	req := httptest.NewRequest(http.MethodGet, "/d/api", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	zipped := httptest.NewRecorder()
	d.ServeHTTP(zipped, req)
	if zipped.Code != http.StatusOK {
		t.Fatalf("gzip request: %d", zipped.Code)
	}
	h := zipped.Header()
	if h.Get("Content-Encoding") != "gzip" || h.Get("Vary") != "Accept-Encoding" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("gzip answer's headers: %v", h)
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != plain.Body.String() {
		t.Fatalf("the gzipped document differs from the plain one:\n%.200s\n%.200s", got, plain.Body.String())
	}
}
