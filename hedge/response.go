package hedge

import (
	"context"
	"io"
	"net/http"
)

// discard releases the value of an attempt whose result nobody will see: an
// *http.Response has its body closed, so that its connection is freed. Other
// values are left alone: the policy cannot know who else holds them.
func discard[T any](v *T) {
	if resp, ok := any(v).(**http.Response); ok && *resp != nil && (*resp).Body != nil {
		_ = (*resp).Body.Close()
		*resp = nil
	}
}

// cancelWithBody makes the winning *http.Response's body release its
// attempt's context when it is read to the end or closed, and reports
// whether it did (false: not a response with a body; cancel now). The body
// is still read under that context after Do returns.
func cancelWithBody[T any](v *T, cancel context.CancelFunc) bool {
	resp, ok := any(v).(**http.Response)
	if !ok || *resp == nil {
		return false
	}
	body := (*resp).Body
	if body == nil || body == http.NoBody {
		return false
	}
	if _, upgraded := body.(io.Writer); upgraded {
		// A 101 Switching Protocols body (io.ReadWriteCloser) is not wrapped,
		// which would hide Write; its context ends with the caller's.
		return true
	}
	(*resp).Body = &releasingBody{ReadCloser: body, release: cancel}
	return true
}

// releasingBody releases a context when the body is exhausted or closed.
type releasingBody struct {
	io.ReadCloser
	release context.CancelFunc
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.release()
	}
	return n, err
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
