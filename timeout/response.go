package timeout

import (
	"context"
	"io"
	"net/http"
)

// discard releases a value returned after the deadline, which nobody will
// see: an *http.Response's body is closed so that its connection is freed.
// Other values are left alone: the policy cannot know who else holds them.
func discard[T any](v *T) {
	if resp, ok := any(v).(**http.Response); ok && *resp != nil && (*resp).Body != nil {
		_ = (*resp).Body.Close()
	}
}

// cancelWithBody ties the release of a call's context to the body of the
// *http.Response the call returned, if it did, and reports whether it did.
// Cancelling the context when Do returns would break the caller's read of
// the body, which the transport still does under that context; instead the
// context is released when the body is read to its end or closed, or at the
// deadline, whichever comes first.
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
		// A 101 Switching Protocols body is an io.ReadWriteCloser; wrapping
		// it would hide Write. The deadline still releases the context.
		return true
	}
	(*resp).Body = &bodyCanceler{body: body, cancel: cancel}
	return true
}

// bodyCanceler cancels a context when its body is exhausted or closed.
type bodyCanceler struct {
	body   io.ReadCloser
	cancel context.CancelFunc
}

func (b *bodyCanceler) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.cancel()
	}
	return n, err
}

func (b *bodyCanceler) Close() error {
	err := b.body.Close()
	b.cancel()
	return err
}
