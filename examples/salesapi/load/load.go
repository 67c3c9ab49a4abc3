// Package load drives a mixed workload against a running sales API and
// reports throughput, latency percentiles and errors per route. It is used by
// the loadgen command and by the example's benchmarks.
package load

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config says what to drive and how hard.
type Config struct {
	// BaseURL of the sales API, e.g. http://127.0.0.1:8080.
	BaseURL string
	// APIKey is sent as a bearer token.
	APIKey string
	// Duration of the measured run (default 10s).
	Duration time.Duration
	// Concurrency is the number of client goroutines (default 16).
	Concurrency int
	// Customers created before the run and read during it (default 50).
	Customers int
	// Mix gives each operation's weight; nil means DefaultMix.
	Mix map[Op]int
	// Client is used for every request; nil means a client with a 10s timeout.
	Client *http.Client
}

// Op is one kind of request in the mix.
type Op string

// The operations a run mixes.
const (
	GetCustomer Op = "GET /v1/customers/{id}"
	PostOrder   Op = "POST /v1/orders"
	GetReport   Op = "GET /v1/reports/sales"
)

// DefaultMix is read-heavy, as a sales back office is.
var DefaultMix = map[Op]int{GetCustomer: 70, PostOrder: 20, GetReport: 10}

// RouteStats is what one operation saw.
type RouteStats struct {
	Requests int           `json:"requests"`
	Errors   int           `json:"errors"` // transport errors and 5xx after retries
	Retries  int           `json:"retries"`
	Status   map[int]int   `json:"status"`
	P50      time.Duration `json:"p50"`
	P99      time.Duration `json:"p99"`
	Max      time.Duration `json:"max"`
	lat      []time.Duration
}

// Result is a whole run.
type Result struct {
	Elapsed time.Duration      `json:"elapsed"`
	Routes  map[Op]*RouteStats `json:"routes"`
}

// Throughput is requests per second for op (all ops when op is "").
func (r *Result) Throughput(op Op) float64 {
	n := 0
	for o, s := range r.Routes {
		if op == "" || o == op {
			n += s.Requests
		}
	}
	return float64(n) / r.Elapsed.Seconds()
}

// Run creates the customers, then drives the mix until Duration passes or
// ctx ends.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("load: Config.BaseURL is required")
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Customers <= 0 {
		cfg.Customers = 50
	}
	if cfg.Mix == nil {
		cfg.Mix = DefaultMix
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	c := &client{cfg: cfg}
	ids, err := c.seed(ctx)
	if err != nil {
		return nil, err
	}
	ops, weights := pickTable(cfg.Mix)
	res := &Result{Routes: map[Op]*RouteStats{}}
	for _, op := range ops {
		res.Routes[op] = &RouteStats{Status: map[int]int{}}
	}
	var mu sync.Mutex
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w), uint64(start.UnixNano())))
			local := map[Op]*RouteStats{}
			for _, op := range ops {
				local[op] = &RouteStats{Status: map[int]int{}}
			}
			for runCtx.Err() == nil {
				op := pick(ops, weights, rng.IntN(weights[len(weights)-1]))
				t0 := time.Now()
				status, retries, err := c.do(runCtx, op, ids[rng.IntN(len(ids))])
				if runCtx.Err() != nil {
					break // a request cut by the end of the run is not counted
				}
				s := local[op]
				s.Requests++
				s.Retries += retries
				s.lat = append(s.lat, time.Since(t0))
				if err != nil || status < 200 || status > 299 {
					s.Errors++
				}
				s.Status[status]++
			}
			mu.Lock()
			defer mu.Unlock()
			for op, s := range local {
				t := res.Routes[op]
				t.Requests += s.Requests
				t.Errors += s.Errors
				t.Retries += s.Retries
				t.lat = append(t.lat, s.lat...)
				for k, v := range s.Status {
					t.Status[k] += v
				}
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	for _, s := range res.Routes {
		s.P50, s.P99, s.Max = percentile(s.lat, 0.50), percentile(s.lat, 0.99), percentile(s.lat, 1)
	}
	return res, nil
}

func pickTable(mix map[Op]int) ([]Op, []int) {
	ops := make([]Op, 0, len(mix))
	for op, w := range mix {
		if w > 0 {
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
	cum := make([]int, len(ops))
	total := 0
	for i, op := range ops {
		total += mix[op]
		cum[i] = total
	}
	return ops, cum
}

func pick(ops []Op, cum []int, n int) Op {
	i, _ := slices.BinarySearch(cum, n+1)
	return ops[i]
}

func percentile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	i := int(q*float64(len(lat))+0.5) - 1
	return lat[min(max(i, 0), len(lat)-1)]
}

// Report formats a result as a table.
func (r *Result) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-26s %9s %8s %7s %7s %10s %10s %10s\n", "route", "requests", "req/s", "errors", "retries", "p50", "p99", "max")
	ops := make([]Op, 0, len(r.Routes))
	for op := range r.Routes {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
	for _, op := range ops {
		s := r.Routes[op]
		fmt.Fprintf(&b, "%-26s %9d %8.0f %7d %7d %10s %10s %10s\n", op, s.Requests, r.Throughput(op), s.Errors, s.Retries,
			s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond), s.Max.Round(time.Microsecond))
	}
	fmt.Fprintf(&b, "%-26s %9s %8.0f   (%s)\n", "all", "", r.Throughput(""), r.Elapsed.Round(time.Millisecond))
	for _, op := range ops {
		codes := make([]int, 0, len(r.Routes[op].Status))
		for c := range r.Routes[op].Status {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		fmt.Fprintf(&b, "%-26s", op)
		for _, c := range codes {
			name := strconv.Itoa(c)
			if c == 0 {
				name = "transport-error"
			}
			fmt.Fprintf(&b, " %s:%d", name, r.Routes[op].Status[c])
		}
		b.WriteString("\n")
	}
	return b.String()
}

type client struct{ cfg Config }

func (c *client) request(ctx context.Context, method, path string, body any, idemKey string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func (c *client) seed(ctx context.Context) ([]string, error) {
	ids := make([]string, 0, c.cfg.Customers)
	for i := range c.cfg.Customers {
		status, body, err := c.request(ctx, http.MethodPost, "/v1/customers", map[string]string{
			"name": fmt.Sprintf("Load Customer %d", i), "email": fmt.Sprintf("load%d-%s@example.com", i, randHex(4)),
			"phone": fmt.Sprintf("+4420%08d", i), "company": "Load Ltd",
		}, "")
		if err != nil || status != http.StatusCreated {
			return nil, fmt.Errorf("load: seeding customer %d: status %d: %v %s", i, status, err, body)
		}
		var created struct{ ID string }
		if err := json.Unmarshal(body, &created); err != nil || created.ID == "" {
			return nil, fmt.Errorf("load: seeding customer %d: no id in %s", i, body)
		}
		ids = append(ids, created.ID)
	}
	return ids, nil
}

// do runs one operation. POST /v1/orders is retried with the same
// Idempotency-Key on 409, 429 and 5xx (at most 5 times), as a careful client
// does; retries counts them.
func (c *client) do(ctx context.Context, op Op, customerID string) (status, retries int, err error) {
	switch op {
	case GetCustomer:
		status, _, err = c.request(ctx, http.MethodGet, "/v1/customers/"+customerID, nil, "")
	case GetReport:
		status, _, err = c.request(ctx, http.MethodGet, "/v1/reports/sales?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", nil, "")
	case PostOrder:
		key := randHex(16)
		body := map[string]any{"customer_id": customerID, "currency": "EUR",
			"items": []map[string]any{{"sku": "SEAT-PRO", "qty": 1 + mrand.IntN(5), "unit_price_cents": 4900}}}
		for attempt := 0; ; attempt++ {
			status, _, err = c.request(ctx, http.MethodPost, "/v1/orders", body, key)
			retryable := err != nil || status == http.StatusConflict || status == http.StatusTooManyRequests || status >= 500
			if !retryable || attempt == 5 || ctx.Err() != nil {
				return status, retries, err
			}
			retries++
			select {
			case <-ctx.Done():
				return status, retries, err
			case <-time.After(time.Duration(50*(1<<attempt)) * time.Millisecond):
			}
		}
	default:
		err = fmt.Errorf("load: unknown op %q", op)
	}
	return status, 0, err
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
