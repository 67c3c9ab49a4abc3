package mask

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

func BenchmarkEmail(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Email("john.doe@example.com")
	}
}

func BenchmarkStruct(b *testing.B) {
	type customer struct {
		ID    int
		Name  string `mask:"name"`
		Email string `mask:"email"`
		Phone string `mask:"phone"`
	}
	c := customer{ID: 1, Name: "Ann Smith", Email: "ann@example.com", Phone: "+49 151 1234 5678"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Struct(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHandler(b *testing.B) {
	plain := slog.New(slog.NewJSONHandler(io.Discard, nil))
	masked := slog.New(Default().Handler(slog.NewJSONHandler(io.Discard, nil)))
	for _, c := range []struct {
		name string
		l    *slog.Logger
	}{{"handler=plain", plain}, {"handler=masked", masked}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.l.Info("login", "email", "ann@example.com", "password", "hunter2", "path", "/orders", "status", 200)
			}
		})
	}
}

// BenchmarkHandlerNested logs values that must be walked: a slice of tagged
// structs and an http.Header; and a time.Time, which no rule can change and
// which is therefore not copied.
func BenchmarkHandlerNested(b *testing.B) {
	type customer struct {
		ID    int
		Email string `mask:"email"`
	}
	cs := []customer{{1, "ann@example.com"}, {2, "bob@example.org"}}
	h := http.Header{"Authorization": {"Bearer abc"}, "Accept": {"*/*"}}
	now := time.Now()
	masked := slog.New(Default().Handler(slog.NewJSONHandler(io.Discard, nil)))
	b.ReportAllocs()
	for b.Loop() {
		masked.Info("list", "customers", cs, "headers", h, "at", now)
	}
}
