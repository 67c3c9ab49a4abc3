package idempotency

import (
	"bytes"
	"net/http"
)

// captureWriter buffers the response of a proceeding request so that the
// record is completed before the client sees the response: a client that
// retries the moment it has the answer finds the stored outcome, not a 409.
// A body larger than the limit, or a handler that flushes, switches it to
// streaming: what was buffered is written through and the rest goes straight
// to the client (the record then stores status and headers only).
type captureWriter struct {
	http.ResponseWriter
	limit     int
	status    int
	buf       bytes.Buffer
	streaming bool
	flushed   bool
}

func (c *captureWriter) WriteHeader(status int) {
	if status >= 100 && status < 200 {
		// Informational responses (103 Early Hints) go out at once and are
		// not part of the outcome.
		c.ResponseWriter.WriteHeader(status)
		return
	}
	if c.status == 0 {
		c.status = status
		if c.streaming {
			c.ResponseWriter.WriteHeader(status)
		}
	}
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.streaming {
		return c.ResponseWriter.Write(p)
	}
	if c.buf.Len()+len(p) > c.limit {
		if err := c.startStreaming(); err != nil {
			return 0, err
		}
		return c.ResponseWriter.Write(p)
	}
	return c.buf.Write(p)
}

// Flush implements http.Flusher: a handler that flushes wants its bytes on
// the wire now, so the body can no longer be stored.
func (c *captureWriter) Flush() {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if !c.streaming {
		if c.startStreaming() != nil {
			return
		}
	}
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *captureWriter) startStreaming() error {
	c.streaming = true
	c.ResponseWriter.WriteHeader(c.status)
	_, err := c.ResponseWriter.Write(c.buf.Bytes())
	c.buf = bytes.Buffer{}
	return err
}

// statusOrOK is the response status, 200 when the handler wrote nothing.
func (c *captureWriter) statusOrOK() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}

// flush sends a buffered response to the client (after the record was
// completed or released).
func (c *captureWriter) flush() {
	if c.streaming || c.flushed {
		return
	}
	c.flushed = true
	c.ResponseWriter.WriteHeader(c.statusOrOK())
	if c.buf.Len() > 0 {
		_, _ = c.ResponseWriter.Write(c.buf.Bytes())
	}
}
