// Package requestctx carries the request a piece of work belongs to: its
// request id and its route, so that a log line or a slow query written deep
// inside a handler can name both.
//
//	mux := http.NewServeMux()
//	...
//	handler := metricsMiddleware.Handler(requestctx.Middleware(mux))
//
// [Middleware] accepts a well-formed incoming X-Request-ID or makes one,
// echoes it on the response, and puts it in the request's context; [ID]
// reads it back, [Route] reads the http.route the mux matched. [WithID]
// gives background work an id of its own. [NewLogHandler] wraps any
// slog.Handler so that every record logged with the request's context
// carries trace_id, span_id and request_id:
//
//	logger := slog.New(requestctx.NewLogHandler(slog.NewJSONHandler(os.Stderr, nil)))
//	logger.InfoContext(r.Context(), "order created", "order", id)
//	// {"time":…,"level":"INFO","msg":"order created","order":"o_1",
//	//  "trace_id":"4bf9…","span_id":"00f0…","request_id":"req-42"}
//
// # Guarantees
//
//   - Bad input: an incoming id is used only if it is 1 to 128 ASCII
//     letters, digits, '-', '_', '.' or ':' ([WellFormedID]); anything else
//     (too long, spaces, quotes, control characters, non-ASCII) is replaced
//     by a fresh id, so an id never breaks a log line or a header.
//   - Ids are 128 bits from crypto/rand.
//   - Concurrency: the values are immutable once the middleware has passed
//     the request on; safe to read from any goroutine the handler starts.
package requestctx
