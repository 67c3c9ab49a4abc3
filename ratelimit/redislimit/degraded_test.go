package redislimit_test

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit/redislimit"
)

// privateRedis runs a redis-server of its own on a free port, so that a
// test can kill it without touching the shared one.
type privateRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T, port int) *privateRedis {
	t.Helper()
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port = ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	require.NoError(t, cmd.Start())
	p := &privateRedis{t: t, port: port, cmd: cmd}
	t.Cleanup(p.kill)
	c := redis.NewClient(&redis.Options{Addr: p.addr()})
	defer c.Close()
	require.Eventually(t, func() bool { return c.Ping(context.Background()).Err() == nil }, 5*time.Second, 20*time.Millisecond)
	return p
}

func (p *privateRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

func (p *privateRedis) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// TestFailLocalSharesTheLimitWhileRedisIsDown runs two instances against a
// private Redis that is killed and restarted mid-test. While it is down,
// each instance enforces half the limit (N = 2, learned from the
// heartbeats), so together they admit the limit within 20 %; when it is
// back they return to the shared bucket. Real time: the Redis server's
// clock and a real process cannot run in a synctest bubble.
func TestFailLocalSharesTheLimitWhileRedisIsDown(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	const limit, burst = 100, 10 // per second, both instances together
	srv := startPrivateRedis(t, 0)
	var limiters []*redislimit.Limiter
	for range 2 {
		client := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1, DialerRetries: 1,
			DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
		t.Cleanup(func() { _ = client.Close() })
		limiters = append(limiters, newLimiter(t, redislimit.Config{
			Client: client, Name: "fault", Limit: limit, Period: time.Second, Burst: burst,
			FailMode: redislimit.FailLocal, HeartbeatEvery: 100 * time.Millisecond,
		}))
	}

	var phase atomic.Int32 // 0 up, 1 down, 2 back
	var admitted, attempts [3]atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, l := range limiters {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := phase.Load()
				d, err := l.Take(context.Background(), "tenant-1")
				attempts[p].Add(1)
				if err == nil && d.Allowed {
					admitted[p].Add(1)
				}
				time.Sleep(200 * time.Microsecond)
			}
		})
	}
	time.Sleep(time.Second)
	for i, l := range limiters {
		require.Equal(t, 2, redislimit.Instances(l), "instance %d learned N from the heartbeats", i)
	}
	srv.kill()
	down := time.Now()
	phase.Store(1)
	time.Sleep(2 * time.Second)
	phase.Store(2)
	downFor := time.Since(down)
	back := startPrivateRedis(t, srv.port)
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()

	// Down: each instance's own bucket holds burst/2 and refills at limit/2.
	want := float64(limit)*downFor.Seconds() + burst
	got := float64(admitted[1].Load())
	t.Logf("admitted while up %d, down %d (want %.0f ± 20%%, %s), back %d; attempts %d, %d, %d",
		admitted[0].Load(), admitted[1].Load(), want, downFor, admitted[2].Load(),
		attempts[0].Load(), attempts[1].Load(), attempts[2].Load())
	assert.InEpsilon(t, want, got, 0.2, "combined admitted rate while Redis was down")
	for i, l := range limiters {
		d := redislimit.DegradedFor(l)
		assert.GreaterOrEqual(t, d, 1500*time.Millisecond, "instance %d metered its time degraded", i)
		assert.Less(t, d, downFor+1500*time.Millisecond, "instance %d returned to Redis", i)
	}
	for i, l := range limiters {
		// Back on Redis: a decision now is Redis's, and the time degraded
		// no longer grows.
		_, err := l.Take(context.Background(), "tenant-2")
		require.NoError(t, err)
		before := redislimit.DegradedFor(l)
		time.Sleep(100 * time.Millisecond)
		assert.Equal(t, before, redislimit.DegradedFor(l), "instance %d is no longer degraded", i)
	}
	_ = back
	// Back: the shared bucket again (a fresh server: full), after each
	// instance's next probe (at most a second); meanwhile an instance still
	// local may add its share, limit/2 per second, to the shared limit.
	backMax := float64(limit)*1.5 + float64(limit)/2*1 + 2*burst
	assert.LessOrEqual(t, float64(admitted[2].Load()), backMax)
	assert.GreaterOrEqual(t, float64(admitted[2].Load()), 0.8*float64(limit)*1.5)
}
