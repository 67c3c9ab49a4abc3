package health_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/keel-go/keel/metrics/health"
)

func Example() {
	reg, err := health.New(health.Config{ServiceID: "salesapi"})
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	_ = reg.Register(health.Check{Name: "postgres", ComponentType: "datastore",
		Func: func(context.Context) error { return nil }})
	_ = reg.Register(health.Check{Name: "redis", ComponentType: "datastore", NonCritical: true,
		Func: func(context.Context) error { return errors.New("connection refused") }})
	reg.OnChange(func(c health.Change) { fmt.Printf("change: %s %q -> %s\n", c.Check, c.From, c.To) })

	rec := httptest.NewRecorder()
	reg.Readyz().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz?verbose&exclude=postgres", nil))
	fmt.Print(rec.Code, "\n", rec.Body.String())
	// Output:
	// change: redis "" -> warn
	// 200
	// [!]redis warn: reason withheld
	// readyz check passed
}
