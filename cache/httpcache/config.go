package httpcache

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/keel-go/keel/cache"
)

// Defaults used for zero Config fields.
const (
	DefaultCapacity        = 10_000
	DefaultMaxResponseSize = 1 << 20
	DefaultMaxBytes        = 64 << 20
	DefaultTagHeader       = "Surrogate-Key"
	DefaultCacheStatus     = "keel"
	DefaultName            = "default"
)

// uncacheableFor is how long a URL whose response could not be stored is
// marked so that concurrent requests for it do not wait for one another
// (Varnish's hit-for-miss): each goes to the handler at once. A response that
// becomes cacheable is stored by the first request after the mark.
const uncacheableFor = 30 * time.Second

// Config configures a Middleware. The zero value of every field means the
// documented default; New validates the rest.
type Config struct {
	// Capacity is the most records held: responses, plus one record per
	// URL of what its responses vary on. Least recently used go first.
	// Default DefaultCapacity (10 000).
	Capacity int

	// MaxResponseSize bounds one stored response, body and header fields.
	// A larger response is passed to the client and not stored. Default
	// DefaultMaxResponseSize (1 MiB).
	MaxResponseSize int64

	// MaxBytes bounds the bytes of every stored response together. A
	// response that does not fit is not stored until others expire or are
	// evicted (counted as keel.httpcache.responses{decision="full"}).
	// Default DefaultMaxBytes (64 MiB). Must be at least MaxResponseSize.
	MaxBytes int64

	// Principal returns who a request is made by: the user, tenant or API
	// key the handler's answer may depend on, or "" for an anonymous
	// request. Responses are stored per principal unless they are
	// explicitly shared (Cache-Control public or s-maxage), so one caller's
	// response is never served to another. It must be cheap and must not
	// write the response. Nil: requests that carry Authorization or Cookie
	// are answered only from shared responses, and their other responses
	// are not stored (RFC 9111 §3.5); other requests are anonymous.
	Principal func(r *http.Request) string

	// DefaultTTL is the freshness lifetime of a response that states none
	// (no max-age, s-maxage or Expires), for the status codes RFC 9110
	// §15.1 calls heuristically cacheable (200, 203, 204, 300, 301, 308,
	// 404, 405, 410, 414, 501). Default 0: such responses are not stored.
	DefaultTTL time.Duration

	// TagHeader is the response field a handler lists its response's tags
	// in (space- or comma-separated), for InvalidateTags. It is removed
	// from the response sent to the client. Default DefaultTagHeader
	// ("Surrogate-Key").
	TagHeader string

	// Invalidates, if set, returns the tags to invalidate when an unsafe
	// request (POST, PUT, PATCH, DELETE, or one of UnsafeMethods) through
	// the middleware succeeds (status below 400). The request's URI, and
	// the same-origin URIs in its Location and Content-Location, are
	// always invalidated (RFC 9111 §4.4), but not the paths under them:
	// to invalidate a subtree, list a tag its responses carry, or call
	// InvalidatePrefix. It runs before the answer reaches the client.
	Invalidates func(r *http.Request) []string

	// UnsafeMethods names further request methods (case-sensitive, as
	// methods are) that change state and so invalidate like POST. A method
	// neither RFC 9110 nor this list names is passed to the handler and
	// invalidates nothing: no client can empty the cache by inventing one.
	UnsafeMethods []string

	// LoadTimeout bounds one handler call made for the cache (the call
	// that several requests share, or a background revalidation). Default
	// cache.DefaultLoadTimeout (10 s).
	LoadTimeout time.Duration

	// CleanupInterval is how often expired records are swept (they are
	// invisible once expired either way). Default 5 s; negative: no
	// sweeping goroutine (records are removed when found expired or
	// evicted).
	CleanupInterval time.Duration

	// CacheStatus is the cache's name in the Cache-Status response field
	// (RFC 9211), which tells clients whether their answer was a hit.
	// Default DefaultCacheStatus ("keel"); "-" sends no Cache-Status.
	CacheStatus string

	// Name is the value of the keel.httpcache.name metric attribute.
	// Default DefaultName.
	Name string

	// MeterProvider provides the instruments (see docs/METRICS.md). Nil
	// means the otel global provider.
	MeterProvider metric.MeterProvider
}

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("httpcache: "+format, args...)) }
	if c.Capacity < 0 {
		bad("Config.Capacity must not be negative, got %d", c.Capacity)
	}
	if c.MaxResponseSize < 0 {
		bad("Config.MaxResponseSize must not be negative, got %d", c.MaxResponseSize)
	}
	if c.MaxBytes < 0 {
		bad("Config.MaxBytes must not be negative, got %d", c.MaxBytes)
	}
	if c.DefaultTTL < 0 {
		bad("Config.DefaultTTL must not be negative, got %s", c.DefaultTTL)
	}
	if c.LoadTimeout < 0 {
		bad("Config.LoadTimeout must not be negative, got %s", c.LoadTimeout)
	}
	if c.TagHeader != "" && !isToken(c.TagHeader) {
		bad("Config.TagHeader must be a header field name, got %q", truncate(c.TagHeader))
	}
	if c.CacheStatus != "" && c.CacheStatus != "-" && !isToken(c.CacheStatus) {
		bad("Config.CacheStatus must be a token (RFC 9211), got %q", truncate(c.CacheStatus))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	if c.MaxResponseSize == 0 {
		c.MaxResponseSize = DefaultMaxResponseSize
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = max(DefaultMaxBytes, c.MaxResponseSize)
	}
	if c.MaxBytes < c.MaxResponseSize {
		return fmt.Errorf("httpcache: Config.MaxBytes (%d) must be at least Config.MaxResponseSize (%d)", c.MaxBytes, c.MaxResponseSize)
	}
	if c.TagHeader == "" {
		c.TagHeader = DefaultTagHeader
	}
	c.TagHeader = http.CanonicalHeaderKey(c.TagHeader)
	switch c.CacheStatus {
	case "":
		c.CacheStatus = DefaultCacheStatus
	case "-":
		c.CacheStatus = ""
	}
	if c.LoadTimeout == 0 {
		c.LoadTimeout = cache.DefaultLoadTimeout
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
