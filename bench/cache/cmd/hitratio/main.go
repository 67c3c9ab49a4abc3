// Command hitratio prints the hit-ratio table of Keel's cache against the
// peer libraries on public cache traces (ARC: OLTP, P3; LIRS: gli, loop,
// multi2): every trace at several capacities, one goroutine, Get then Set
// on a miss, as a Markdown table. A cell marked "(held N)" means that the
// cache held more than its capacity at some point of the replay.
//
//	cd bench && go run ./cache/cmd/hitratio -dir ../../shared/traces -runs 3
//
// The ARC traces come with the condition that their paper is cited: Nimrod
// Megiddo and Dharmendra S. Modha, "ARC: A Self-Tuning, Low Overhead
// Replacement Cache", USENIX FAST '03, pp. 115-130.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/keel-go/keel/bench/cache/replay"
)

// capacities per trace, after the points the ARC and LIRS papers and the
// peer libraries' published charts use.
var traces = []traceSpec{
	{file: "arc-OLTP.lis.zst", capacities: []int{250, 500, 1000, 2000}},
	{file: "arc-P3.lis.zst", capacities: []int{25_000, 50_000, 100_000, 200_000}},
	{file: "lirs-gli.trace.gz", capacities: []int{250, 500, 1000, 2000}},
	{file: "lirs-loop.trace.gz", capacities: []int{256, 512, 768, 1024}},
	{file: "lirs-multi2.trace.gz", capacities: []int{500, 1000, 2000, 3000}},
}

// traceSpec is a trace file, or a synthetic trace's generator, and the
// capacities to replay it at.
type traceSpec struct {
	file       string
	capacities []int
	generate   func(seed uint64, n int) []uint64
}

// syntheticSeed and syntheticLength parameterise the synthetic traces.
var (
	syntheticSeed   uint64 = 1
	syntheticLength        = 2_000_000
)

func main() {
	dir := flag.String("dir", "../../shared/traces", "directory holding the trace files (arc-*.lis.zst, lirs-*.trace.gz)")
	only := flag.String("trace", "", "replay only traces whose file name contains one of these (comma-separated)")
	caps := flag.String("capacities", "", "comma-separated capacities overriding the defaults")
	runs := flag.Int("runs", 1, "replays per cell, averaged (hash seeds differ from run to run)")
	names := flag.String("contenders", "", "comma-separated contender names (default: all)")
	synthetic := flag.Bool("synthetic", false, "also replay the synthetic traces (bench/cache/replay/synthetic.go)")
	seed := flag.Uint64("seed", 1, "seed of the synthetic traces")
	length := flag.Int("length", 2_000_000, "requests per synthetic trace")
	flag.Parse()
	if *names != "" {
		var keep []replay.Contender
		for _, n := range strings.Split(*names, ",") {
			found := false
			for _, c := range replay.Contenders {
				if c.Name == strings.TrimSpace(n) {
					keep, found = append(keep, c), true
				}
			}
			if !found {
				fmt.Fprintf(os.Stderr, "hitratio: -contenders: no contender %q\n", n)
				os.Exit(2)
			}
		}
		replay.Contenders = keep
	}
	if *synthetic {
		for _, s := range replay.Synthetic {
			traces = append(traces, traceSpec{file: s.Name, capacities: s.Capacities, generate: s.Generate})
		}
	}
	syntheticSeed, syntheticLength = *seed, *length
	if err := run(os.Stdout, *dir, *only, *caps, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "hitratio:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, dir, only, caps string, runs int) error {
	if runs < 1 {
		return fmt.Errorf("-runs must be >= 1, got %d", runs)
	}
	var override []int
	for _, s := range strings.Split(caps, ",") {
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-capacities: %q is not a positive integer", s)
		}
		override = append(override, n)
	}
	fmt.Fprint(w, "| trace | capacity |")
	for _, c := range replay.Contenders {
		fmt.Fprintf(w, " %s |", c.Name)
	}
	fmt.Fprint(w, "\n|---|---:|")
	for range replay.Contenders {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, tr := range traces {
		if only != "" && !slices.ContainsFunc(strings.Split(only, ","), func(part string) bool {
			return part != "" && strings.Contains(tr.file, part)
		}) {
			continue
		}
		var keys []uint64
		if tr.generate != nil {
			keys = tr.generate(syntheticSeed, syntheticLength)
		} else {
			var err error
			if keys, err = replay.Load(filepath.Join(dir, tr.file)); err != nil {
				return err
			}
		}
		capacities := tr.capacities
		if override != nil {
			capacities = override
		}
		for _, capacity := range capacities {
			fmt.Fprintf(w, "| %s | %d |", strings.SplitN(tr.file, ".", 2)[0], capacity)
			for _, c := range replay.Contenders {
				sum, held := 0.0, 0
				for range runs {
					p, err := c.New(capacity)
					if err != nil {
						return fmt.Errorf("%s at %d: %w", c.Name, capacity, err)
					}
					res := replay.Replay(keys, p)
					p.Close()
					sum += res.HitRatio
					held = max(held, res.MaxLen)
				}
				mark := ""
				if held > capacity {
					mark = fmt.Sprintf(" (held %d)", held)
				}
				fmt.Fprintf(w, " %.2f%s |", 100*sum/float64(runs), mark)
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}
