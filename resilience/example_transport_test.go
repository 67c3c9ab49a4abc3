package resilience_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/resilience"
	"github.com/keel-go/keel/retry"
)

// A POST through the Transport: the transport gives it a key, the first
// attempt meets a 503, and the retry carries the same key, so a server that
// honours Idempotency-Key would charge once whatever happened to the first.
func ExampleTransport() {
	var mu sync.Mutex
	var keys []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		first := len(keys) == 1
		mu.Unlock()
		if first {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"id":"ch_1"}`)
	}))
	defer server.Close()

	policy, _ := retry.New(retry.Config{Name: "payments", MaxAttempts: 3, Backoff: retry.Constant{}})
	b, _ := breaker.New(breaker.Config{Name: "payments", Classifier: resilience.BreakerClassifier})
	pipeline, err := resilience.With(policy, b)
	if err != nil {
		panic(err)
	}
	transport, err := resilience.NewTransport(resilience.TransportConfig{Pipeline: pipeline})
	if err != nil {
		panic(err)
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	resp, err := client.Post(server.URL+"/charges", "application/json", strings.NewReader(`{"amount":1200}`))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	fmt.Println("attempts:", len(keys), "| one key for both:", keys[0] != "" && keys[0] == keys[1])
	// Output:
	// 200 {"id":"ch_1"}
	// attempts: 2 | one key for both: true
}
