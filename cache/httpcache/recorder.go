package httpcache

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
)

// errTooLarge is what a handler's Write returns once its response is over
// Config.MaxResponseSize and the cache cannot pass it on (the call is shared
// by several requests): the response will not be stored, and every request
// is then answered by a call of its own.
var errTooLarge = errors.New("httpcache: response larger than Config.MaxResponseSize")

// recorder buffers a handler's response, up to limit bytes of body. With a
// client (the call serves only the request that made it), a response that
// grows past the limit is passed on to the client as it comes instead.
type recorder struct {
	header      http.Header
	status      int
	body        bytes.Buffer
	limit       int64
	wroteHeader bool
	tooLarge    bool

	client   http.ResponseWriter // nil when the call is shared
	streamed bool                // the response went to client as it came
	strip    []string            // fields never passed on (the tag field)
}

func newRecorder(limit int64, client http.ResponseWriter, strip []string) *recorder {
	return &recorder{header: make(http.Header), limit: limit, client: client, strip: strip}
}

func (rec *recorder) Header() http.Header {
	if rec.streamed {
		return rec.client.Header()
	}
	return rec.header
}

func (rec *recorder) WriteHeader(status int) {
	if rec.streamed {
		rec.client.WriteHeader(status)
		return
	}
	if rec.wroteHeader || status < 200 {
		return // informational responses are not part of what is cached
	}
	rec.wroteHeader = true
	rec.status = status
	if n, err := strconv.ParseInt(rec.header.Get("Content-Length"), 10, 64); err == nil && n > rec.limit {
		rec.overflow()
	}
}

func (rec *recorder) Write(p []byte) (int, error) {
	if !rec.wroteHeader {
		rec.WriteHeader(http.StatusOK)
	}
	if !rec.streamed && !rec.tooLarge && int64(rec.body.Len()+len(p)) > rec.limit {
		rec.overflow()
	}
	switch {
	case rec.streamed:
		return rec.client.Write(p)
	case rec.tooLarge:
		return 0, errTooLarge
	}
	return rec.body.Write(p)
}

// overflow gives up buffering: pass the response on to the client, or, when
// the call is shared, drop it.
func (rec *recorder) overflow() {
	rec.tooLarge = true
	if rec.client == nil {
		rec.body = bytes.Buffer{}
		return
	}
	h := rec.client.Header()
	for name, v := range rec.header {
		h[name] = v
	}
	for _, name := range rec.strip {
		delFold(h, name)
	}
	rec.client.WriteHeader(rec.status)
	rec.streamed = true
	_, _ = rec.client.Write(rec.body.Bytes())
	rec.body = bytes.Buffer{}
}

// Flush passes a flush on once the response is streamed; a buffered
// response is sent whole when the handler returns.
func (rec *recorder) Flush() {
	if f, ok := rec.client.(http.Flusher); ok && rec.streamed {
		f.Flush()
	}
}

// statusWriter notes the status a handler of an unsafe request answers, and
// runs invalidate before the status reaches the client, so that a client
// that reads the answer and then reads the resource never gets the copy the
// change made stale.
type statusWriter struct {
	http.ResponseWriter
	wrote      bool
	invalidate func(status int)
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote && status >= 200 {
		w.wrote = true
		w.invalidate(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
