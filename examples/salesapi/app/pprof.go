package app

import (
	"net/http"
	"net/http/pprof"
)

// handleProfiling mounts Go's profiler under GET /v1/admin/pprof/ for the
// admin role only, when Config.Profiling is set (-pprof; off by default: a
// profile shows the service's internals, and a CPU profile costs CPU while
// it runs). It is how the memory growth per order was found:
//
//	curl -H "Authorization: Bearer $ADMIN" http://127.0.0.1:8080/v1/admin/pprof/heap > heap.pb.gz
//	go tool pprof -sample_index=inuse_space heap.pb.gz
func (a *App) handleProfiling(handle func(pattern string, role Role, h http.HandlerFunc)) {
	if !a.cfg.Profiling {
		return
	}
	handle("GET /v1/admin/pprof/{rest...}", RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		// pprof.Index serves the named profiles under the path it is given.
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/debug/pprof/" + r.PathValue("rest")
		pprof.Index(w, r2)
	})
	handle("GET /v1/admin/pprof/profile", RoleAdmin, pprof.Profile)
	handle("GET /v1/admin/pprof/trace", RoleAdmin, pprof.Trace)
	handle("GET /v1/admin/pprof/symbol", RoleAdmin, pprof.Symbol)
	handle("GET /v1/admin/pprof/cmdline", RoleAdmin, pprof.Cmdline)
}
