package retry

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Backoff makes the delay sequence for one call. NewBackOff is called once per
// call, and only when a first retry is needed, so that a Policy shared by many
// goroutines never shares backoff state and a first-attempt success costs nothing.
type Backoff interface {
	NewBackOff() backoff.BackOff
}

// BackoffFunc adapts any github.com/cenkalti/backoff/v4 BackOff factory.
// The factory must return a fresh value on each call.
type BackoffFunc func() backoff.BackOff

// NewBackOff calls f.
func (f BackoffFunc) NewBackOff() backoff.BackOff { return f() }

// Exponential grows the delay from Initial by Multiplier per retry up to Max,
// then spreads each delay uniformly over [d*(1-Jitter), d*(1+Jitter)].
// The growth is cenkalti/backoff's ExponentialBackOff; the jitter is drawn
// from crypto/rand. The zero value means Initial 100ms, Max 10s, Multiplier 2
// and no jitter; DefaultBackoff adds a jitter of 0.5.
type Exponential struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
}

// DefaultBackoff is Config.Backoff's default: 100ms, 200ms, 400ms … up to 10s,
// each ±50%.
var DefaultBackoff = Exponential{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2, Jitter: 0.5}

// NewBackOff returns a fresh exponential sequence.
func (e Exponential) NewBackOff() backoff.BackOff {
	e = e.withDefaults()
	b := &backoff.ExponentialBackOff{
		InitialInterval:     e.Initial,
		RandomizationFactor: 0, // jitter is applied below with crypto/rand
		Multiplier:          e.Multiplier,
		MaxInterval:         e.Max,
		MaxElapsedTime:      0, // the loop owns elapsed time
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	b.Reset()
	return jittered{next: b, jitter: e.Jitter}
}

func (e Exponential) withDefaults() Exponential {
	if e.Initial == 0 {
		e.Initial = 100 * time.Millisecond
	}
	if e.Max == 0 {
		e.Max = 10 * time.Second
	}
	if e.Multiplier == 0 {
		e.Multiplier = 2
	}
	return e
}

func (e Exponential) validate() error {
	switch {
	case e.Initial < 0:
		return fmt.Errorf("retry: Config.Backoff.Initial must be >= 0, got %v", e.Initial)
	case e.Max < 0:
		return fmt.Errorf("retry: Config.Backoff.Max must be >= 0, got %v", e.Max)
	case e.Multiplier != 0 && (e.Multiplier < 1 || math.IsNaN(e.Multiplier) || math.IsInf(e.Multiplier, 0)):
		return fmt.Errorf("retry: Config.Backoff.Multiplier must be >= 1, got %v", e.Multiplier)
	}
	d := e.withDefaults()
	if d.Max < d.Initial {
		return fmt.Errorf("retry: Config.Backoff.Max (%v) must be >= Initial (%v)", d.Max, d.Initial)
	}
	return validateJitter(e.Jitter)
}

// Constant waits Delay between attempts, spread by Jitter like Exponential.
type Constant struct {
	Delay  time.Duration
	Jitter float64
}

// NewBackOff returns a constant sequence (cenkalti/backoff's ConstantBackOff).
func (c Constant) NewBackOff() backoff.BackOff {
	return jittered{next: backoff.NewConstantBackOff(c.Delay), jitter: c.Jitter}
}

func (c Constant) validate() error {
	if c.Delay < 0 {
		return fmt.Errorf("retry: Config.Backoff.Delay must be >= 0, got %v", c.Delay)
	}
	return validateJitter(c.Jitter)
}

// DecorrelatedJitter is the "decorrelated jitter" of the AWS architecture
// blog: each delay is uniform in [Base, 3 × previous delay], capped at Max.
// It spreads retries of many clients better than exponential with jitter while
// still growing. Zero values mean Base 100ms and Max 10s.
type DecorrelatedJitter struct {
	Base time.Duration
	Max  time.Duration
}

// NewBackOff returns a fresh decorrelated-jitter sequence.
func (d DecorrelatedJitter) NewBackOff() backoff.BackOff {
	if d.Base == 0 {
		d.Base = 100 * time.Millisecond
	}
	if d.Max == 0 {
		d.Max = 10 * time.Second
	}
	return &decorrelated{base: d.Base, max: d.Max, prev: d.Base}
}

func (d DecorrelatedJitter) validate() error {
	switch {
	case d.Base < 0:
		return fmt.Errorf("retry: Config.Backoff.Base must be >= 0, got %v", d.Base)
	case d.Max < 0:
		return fmt.Errorf("retry: Config.Backoff.Max must be >= 0, got %v", d.Max)
	case d.Max != 0 && d.Max < d.Base:
		return fmt.Errorf("retry: Config.Backoff.Max (%v) must be >= Base (%v)", d.Max, d.Base)
	}
	return nil
}

type decorrelated struct {
	base, max, prev time.Duration
}

func (d *decorrelated) NextBackOff() time.Duration {
	hi := d.prev * 3
	if hi < d.prev || hi > d.max { // overflow or above the cap
		hi = d.max
	}
	next := d.base
	if hi > d.base {
		next = d.base + time.Duration(randomFraction()*float64(hi-d.base))
	}
	d.prev = next
	return next
}

func (d *decorrelated) Reset() { d.prev = d.base }

// jittered spreads another BackOff's delays by ±jitter.
type jittered struct {
	next   backoff.BackOff
	jitter float64
}

func (j jittered) NextBackOff() time.Duration {
	d := j.next.NextBackOff()
	if d == backoff.Stop || j.jitter == 0 || d <= 0 {
		return d
	}
	spread := float64(d) * j.jitter
	return time.Duration(float64(d) - spread + randomFraction()*2*spread)
}

func (j jittered) Reset() { j.next.Reset() }

func validateJitter(j float64) error {
	if j < 0 || j > 1 || math.IsNaN(j) {
		return fmt.Errorf("retry: Config.Backoff.Jitter must be in [0,1], got %v", j)
	}
	return nil
}

// randomFraction returns a uniform value in [0,1) from crypto/rand.
func randomFraction() float64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return float64(binary.LittleEndian.Uint64(b[:])>>11) / (1 << 53)
}
