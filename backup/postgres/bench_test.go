package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
	"github.com/keel-go/keel/backup/postgres"
	"github.com/keel-go/keel/internal/testenv"
)

// benchSizeEnv sizes the generated database in MB (default 4, so that a
// -benchtime=1x run in CI is quick). The recorded figures use 1024.
const benchSizeEnv = "KEEL_BENCH_BACKUP_MB"

// benchKeepEnv=1 keeps the generated database after the run and reuses it
// in the next, so that runs can alternate (one process per -count) without
// generating a gigabyte each time. Drop it by hand afterwards.
const benchKeepEnv = "KEEL_BENCH_BACKUP_KEEP"

var (
	benchOnce sync.Once
	benchDSN  string
	benchErr  error
	benchDrop []string // databases to drop when the package's run ends
	benchMu   sync.Mutex
	adminDSN  string
)

func benchMB(b *testing.B) int {
	mb := 4
	if v := os.Getenv(benchSizeEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("%s must be a positive number of MB, got %q", benchSizeEnv, v)
		}
		mb = n
	}
	return mb
}

// dropBenchDatabases drops the named databases, or with no names every
// database the benchmarks created.
func dropBenchDatabases(names ...string) {
	benchMu.Lock()
	defer benchMu.Unlock()
	if len(names) == 0 {
		names = benchDrop
	}
	if len(names) == 0 || adminDSN == "" {
		return
	}
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return
	}
	defer func() { _ = db.Close() }()
	for _, name := range names {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	}
}

// newBenchDatabase creates an empty database that outlives one benchmark
// function (testenv's are dropped when it returns; -count reruns it).
func newBenchDatabase(b *testing.B, name string) string {
	b.Helper()
	pg := testenv.PostgresDatabase(b) // checks the service, skips or fails as the house rules say
	u, err := url.Parse(pg.DSN)
	require.NoError(b, err)
	u.Path = "/postgres"
	benchMu.Lock()
	adminDSN = u.String()
	benchMu.Unlock()
	_, err = pg.DB.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	require.NoError(b, err)
	_, err = pg.DB.Exec("CREATE DATABASE " + name)
	require.NoError(b, err)
	benchMu.Lock()
	benchDrop = append(benchDrop, name)
	benchMu.Unlock()
	u.Path = "/" + name
	return u.String()
}

// keptBenchDatabase returns the DSN of a database kept by an earlier run,
// or "" if there is none.
func keptBenchDatabase(b *testing.B, name string) string {
	pg := testenv.PostgresDatabase(b)
	var n int
	if err := pg.DB.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n == 0 {
		return ""
	}
	u, err := url.Parse(pg.DSN)
	require.NoError(b, err)
	u.Path = "/postgres"
	benchMu.Lock()
	adminDSN = u.String()
	benchMu.Unlock()
	u.Path = "/" + name
	return u.String()
}

// seedBench fills a database with about mb megabytes of order rows:
// numbers, timestamps and text that compresses about like real data.
func seedBench(dsn string, mb int) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if _, err = db.Exec(`CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, amount numeric(12,2),
		created timestamptz, sku text, note text)`); err != nil {
		return err
	}
	rows := mb * 1_000_000 / 160 // about 160 bytes per row on disk
	const batch = 200_000
	for start := 1; start <= rows; start += batch {
		end := min(start+batch-1, rows)
		_, err = db.Exec(`INSERT INTO orders SELECT g, g % 50000, (g * 7919 % 1000000) / 100.0,
			timestamptz '2025-01-01' + g * interval '1 second', 'SKU-' || (g % 997),
			md5(g::text) || ' ' || repeat(chr((97 + g % 26)::int), (g % 40)::int) || md5((g % 1013)::text)
			FROM generate_series($1::bigint, $2::bigint) g`, start, end)
		if err != nil {
			return err
		}
	}
	_, err = db.Exec(`ANALYZE orders`)
	return err
}

func benchSource(b *testing.B) string {
	benchOnce.Do(func() {
		mb := benchMB(b)
		name := fmt.Sprintf("keel_bench_backup_%dmb", mb)
		if os.Getenv(benchKeepEnv) == "1" {
			benchDSN = keptBenchDatabase(b, name)
			if benchDSN != "" {
				return
			}
		}
		benchDSN = newBenchDatabase(b, name)
		benchErr = seedBench(benchDSN, mb)
		if benchErr == nil && os.Getenv(benchKeepEnv) == "1" {
			benchMu.Lock()
			benchDrop = benchDrop[:len(benchDrop)-1]
			benchMu.Unlock()
		}
	})
	require.NoError(b, benchErr)
	return benchDSN
}

func peakRSS(who int) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB → MiB
}

func cpuSeconds(who int) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// cpuMeter reports the CPU time per operation spent in this process and
// in the programs it ran (pg_dump, zstd, pg_restore; not the server).
// On a shared machine CPU time is steadier than wall time.
type cpuMeter struct{ self, children float64 }

func startCPU() cpuMeter {
	return cpuMeter{cpuSeconds(syscall.RUSAGE_SELF), cpuSeconds(syscall.RUSAGE_CHILDREN)}
}

func (m cpuMeter) report(b *testing.B) {
	self := cpuSeconds(syscall.RUSAGE_SELF) - m.self
	children := cpuSeconds(syscall.RUSAGE_CHILDREN) - m.children
	b.ReportMetric(self/float64(b.N), "self-cpu-s/op")
	b.ReportMetric((self+children)/float64(b.N), "cpu-s/op")
}

// runPipeline runs "a | b > out" (or "a | b" feeding a command) without a shell.
func runPipeline(b *testing.B, first, second *exec.Cmd, out io.Writer) {
	r, err := first.StdoutPipe()
	require.NoError(b, err)
	second.Stdin = r
	second.Stdout = out
	first.Stderr, second.Stderr = os.Stderr, os.Stderr
	require.NoError(b, first.Start())
	require.NoError(b, second.Start())
	require.NoError(b, first.Wait())
	require.NoError(b, second.Wait())
}

// benchRepository skips unless pg_dump, pg_restore and zstd are installed,
// and returns the benchmark database's DSN, a scratch directory, and a
// repository on local storage under it that backs that database up
// (encrypted to a fresh age identity, signed with a fresh key). The
// repository is closed when b ends.
func benchRepository(b *testing.B) (dsn, dir string, store *local.Storage, repo *backup.Repository) {
	b.Helper()
	for _, tool := range []string{"pg_dump", "pg_restore", "zstd"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("skipping: needs %s", tool)
		}
	}
	dsn = benchSource(b)
	drv, err := postgres.New(postgres.Config{DSN: dsn})
	require.NoError(b, err)
	ident, err := age.GenerateX25519Identity()
	require.NoError(b, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(b, err)
	dir = b.TempDir()
	store, err = local.New(filepath.Join(dir, "store"))
	require.NoError(b, err)
	repo, err = backup.New(backup.Config{Storage: store, Source: drv, SigningKey: key,
		Recipients: []age.Recipient{ident.Recipient()}, Identities: []age.Identity{ident}})
	require.NoError(b, err)
	b.Cleanup(func() { _ = repo.Close() })
	return dsn, dir, store, repo
}

// BenchmarkBackup compares a Keel backup (pg_dump custom format
// uncompressed → zstd level 3 → age → local storage, with hashing and a
// signed manifest) with the raw shell pipeline doing the same dump and
// compression: pg_dump -Fc -Z0 | zstd -3 > file. It also runs the common
// pg_dump -Fc | zstd (pg_dump's own gzip inside, then zstd) for reference.
// Throughput is over the uncompressed dump size.
func BenchmarkBackup(b *testing.B) {
	dsn, dir, store, repo := benchRepository(b)
	ctx := context.Background()
	first, err := repo.Create(ctx)
	require.NoError(b, err)
	raw := first.RawSize

	b.Run("keel", func(b *testing.B) {
		b.SetBytes(raw)
		cpu := startCPU()
		for b.Loop() {
			m, err := repo.Create(ctx)
			require.NoError(b, err)
			b.StopTimer()
			require.NoError(b, store.Delete(ctx, m.Object))
			require.NoError(b, store.Delete(ctx, m.ID+".manifest.json"))
			b.StartTimer()
		}
		cpu.report(b)
		b.ReportMetric(peakRSS(syscall.RUSAGE_SELF), "peak-RSS-MB")
	})
	b.Run("raw-pg_dump-Z0|zstd", func(b *testing.B) {
		b.SetBytes(raw)
		cpu := startCPU()
		for b.Loop() {
			f, err := os.Create(filepath.Join(dir, "raw.dump.zst"))
			require.NoError(b, err)
			runPipeline(b, exec.Command("pg_dump", "--format=custom", "--compress=0", "--dbname="+dsn),
				exec.Command("zstd", "-3", "-q", "-c"), f)
			require.NoError(b, f.Sync())
			require.NoError(b, f.Close())
		}
		cpu.report(b)
	})
	b.Run("raw-pg_dump|zstd", func(b *testing.B) {
		b.SetBytes(raw)
		cpu := startCPU()
		for b.Loop() {
			f, err := os.Create(filepath.Join(dir, "raw-gz.dump.zst"))
			require.NoError(b, err)
			runPipeline(b, exec.Command("pg_dump", "--format=custom", "--dbname="+dsn),
				exec.Command("zstd", "-3", "-q", "-c"), f)
			require.NoError(b, f.Sync())
			require.NoError(b, f.Close())
		}
		cpu.report(b)
	})
}

// BenchmarkRestore compares Keel's restore (a checksum pass over the
// stored object, then age → zstd → pg_restore --single-transaction, with
// both checksums) with zstd -d < file | pg_restore --single-transaction.
func BenchmarkRestore(b *testing.B) {
	dsn, dir, _, repo := benchRepository(b)
	ctx := context.Background()
	m, err := repo.Create(ctx)
	require.NoError(b, err)
	rawFile := filepath.Join(dir, "raw.dump.zst")
	f, err := os.Create(rawFile)
	require.NoError(b, err)
	runPipeline(b, exec.Command("pg_dump", "--format=custom", "--compress=0", "--dbname="+dsn), exec.Command("zstd", "-3", "-q", "-c"), f)
	require.NoError(b, f.Close())

	// Each restore goes into a fresh database, dropped before the next.
	n := 0
	fresh := func(b *testing.B) string {
		dropBenchDatabases(fmt.Sprintf("keel_bench_restore_%d_%d", os.Getpid(), n))
		n++
		return newBenchDatabase(b, fmt.Sprintf("keel_bench_restore_%d_%d", os.Getpid(), n))
	}
	defer func() { dropBenchDatabases(fmt.Sprintf("keel_bench_restore_%d_%d", os.Getpid(), n)) }()
	b.Run("keel", func(b *testing.B) {
		b.SetBytes(m.RawSize)
		cpu := startCPU()
		for b.Loop() {
			b.StopTimer()
			target, err := postgres.New(postgres.Config{DSN: fresh(b)})
			require.NoError(b, err)
			b.StartTimer()
			_, err = repo.Restore(ctx, m.ID, target, backup.RestoreOptions{AllowOtherSource: true}) // a fresh database each time
			require.NoError(b, err)
		}
		cpu.report(b)
		b.ReportMetric(peakRSS(syscall.RUSAGE_SELF), "peak-RSS-MB")
	})
	b.Run("raw-zstd-d|pg_restore", func(b *testing.B) {
		b.SetBytes(m.RawSize)
		cpu := startCPU()
		for b.Loop() {
			b.StopTimer()
			target := fresh(b)
			in, err := os.Open(rawFile)
			require.NoError(b, err)
			b.StartTimer()
			dec := exec.Command("zstd", "-d", "-q", "-c")
			dec.Stdin = in
			runPipeline(b, dec, exec.Command("pg_restore", "--exit-on-error", "--single-transaction", "--dbname="+target), io.Discard)
			_ = in.Close()
		}
		cpu.report(b)
	})
}
