// Package idempotency measures the idempotency stores against the real
// local services: nanoseconds per operation and network round trips per
// request, counted on the client's sockets.
package idempotency

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
)

// RoundTrips counts request/response exchanges on the connections its
// dialer makes: a round trip starts each time the client writes after
// having read (or for the first time). Pipelined writes, and writes that
// expect no answer (MySQL's COM_STMT_CLOSE), join the round trip they
// precede, as they cost no extra wait.
type RoundTrips struct {
	n atomic.Int64
}

// Load returns the round trips counted so far.
func (rt *RoundTrips) Load() int64 { return rt.n.Load() }

// Reset sets the count to zero.
func (rt *RoundTrips) Reset() { rt.n.Store(0) }

// DialContext dials like net.Dialer and counts round trips on the result.
func (rt *RoundTrips) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, rt: rt}, nil
}

type countingConn struct {
	net.Conn
	rt      *RoundTrips
	mu      sync.Mutex
	writing bool
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if !c.writing {
		c.writing = true
		c.rt.n.Add(1)
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.writing = false
		c.mu.Unlock()
	}
	return n, err
}
