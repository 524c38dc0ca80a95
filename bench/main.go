// Command bench measures Strata's runtime end to end on franz-go's kfake
// broker, started in this process, against a plain franz-go consume →
// produce loop in the same run.
//
// Each run of a scenario gets a fresh broker with N preloaded records (keys
// cycling through -keys distinct keys, 16-byte values) on -partitions
// partitions, and is timed from the first input batch fetched to the last
// output record acknowledged or, where commits decide (exactly-once, counts),
// to the last commit answered. Its output is then read back and checked:
// every record mapped, every key's final count exact. After an unreported
// warm-up run, repetitions are interleaved across scenarios, and the report
// is a markdown table of the median records/s, their range, and the median
// CPU time per record (the whole process's, broker included), which varies
// less than records/s when other work shares the machine.
//
//	go run ./bench -n 1000000 -count 3
//	go run ./bench -run 'count-eos' -count 1 -cpuprofile cpu.pprof
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/strata-go/strata/internal/benchkit"
)

// config is the command line.
type config struct {
	records    int
	keys       int
	partitions int
	run        string
	count      int
	stateDir   string
	cpuProfile string
	warmup     bool
	maxPoll    int
	// progress, if set, gets a line per run.
	progress io.Writer
}

func main() {
	cfg := config{progress: os.Stderr}
	flag.IntVar(&cfg.records, "n", 1_000_000, "records preloaded and processed per run")
	flag.IntVar(&cfg.keys, "keys", 10_000, "distinct keys of the preloaded records")
	flag.IntVar(&cfg.partitions, "partitions", 8, "partitions of the input and output topics")
	flag.StringVar(&cfg.run, "run", ".", "regular expression selecting the scenarios: plain, map-alos, map-eos, count-alos, count-eos, handle-alos, retry-alos")
	flag.IntVar(&cfg.count, "count", 3, "runs of each scenario; the report gives their median and range")
	flag.StringVar(&cfg.stateDir, "statedir", "", "directory for the apps' state stores (default: a new temporary directory, removed afterwards)")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of each timed run to this file (with -<scenario>-<run> before the extension when several runs are selected)")
	flag.BoolVar(&cfg.warmup, "warmup", true, "run the first selected scenario once, unreported, before measuring: a process's first run is slower while its heap grows")
	flag.IntVar(&cfg.maxPoll, "maxpoll", 0, "the Strata apps' Config.MaxPollRecords (default: Strata's default)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	report(os.Stdout, cfg, results)
}

// result holds one scenario's runs.
type result struct {
	scenario benchkit.Scenario
	rates    []float64 // records/s of each run
	cpu      []float64 // CPU time per record of each run, in µs
}

// measurement is what one run measured: the time from the first record
// fetched to the end of the run, and the CPU time the whole process (broker
// included) used from the start of the app to its stop. Where other work
// shares the machine, CPU time per record varies less than records/s.
type measurement struct {
	took, cpu time.Duration
}

// run measures the selected scenarios cfg.count times each.
func run(ctx context.Context, cfg config) ([]result, error) {
	if cfg.records <= 0 || cfg.keys <= 0 || cfg.partitions <= 0 || cfg.count <= 0 {
		return nil, errors.New("-n, -keys, -partitions and -count must be positive")
	}
	re, err := regexp.Compile(cfg.run)
	if err != nil {
		return nil, fmt.Errorf("-run: %w", err)
	}
	var results []result
	for _, s := range benchkit.Scenarios() {
		if re.MatchString(s.Name) {
			results = append(results, result{scenario: s})
		}
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("-run %q selects no scenario", cfg.run)
	}
	dir := cfg.stateDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "strata-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	if cfg.warmup {
		s := results[0].scenario
		if _, err := runOnce(ctx, cfg, s, filepath.Join(dir, s.Name+"-warmup"), ""); err != nil {
			return nil, fmt.Errorf("%s, warm-up: %w", s.Name, err)
		}
	}
	// Repetitions are interleaved so that a noisy moment on the
	// machine does not fall on one scenario's runs only.
	for rep := range cfg.count {
		for i := range results {
			s := results[i].scenario
			profile := cfg.cpuProfile
			if profile != "" && len(results)*cfg.count > 1 {
				ext := filepath.Ext(profile)
				profile = fmt.Sprintf("%s-%s-%d%s", strings.TrimSuffix(profile, ext), s.Name, rep+1, ext)
			}
			m, err := runOnce(ctx, cfg, s, filepath.Join(dir, fmt.Sprintf("%s-%d", s.Name, rep)), profile)
			if err != nil {
				return nil, fmt.Errorf("%s, run %d: %w", s.Name, rep+1, err)
			}
			rate := float64(cfg.records) / m.took.Seconds()
			cpu := float64(m.cpu.Microseconds()) / float64(cfg.records)
			results[i].rates = append(results[i].rates, rate)
			results[i].cpu = append(results[i].cpu, cpu)
			if cfg.progress != nil {
				fmt.Fprintf(cfg.progress, "%-10s run %d/%d: %s records/s (%v), %.2f µs CPU/record\n",
					s.Name, rep+1, cfg.count, human(rate), m.took.Round(time.Millisecond), cpu)
			}
		}
	}
	return results, nil
}

// runOnce runs s on a fresh, preloaded broker, with a CPU profile into
// profile unless it is empty.
func runOnce(ctx context.Context, cfg config, s benchkit.Scenario, stateDir, profile string) (measurement, error) {
	c, err := benchkit.Start(ctx, int32(cfg.partitions), cfg.records, cfg.keys)
	if err != nil {
		return measurement{}, err
	}
	defer c.Close()
	runtime.GC() // the preload's garbage is not the run's
	env := benchkit.Env{
		Cluster:  c,
		In:       benchkit.InTopic,
		Out:      benchkit.OutTopic,
		Records:  cfg.records,
		Keys:     cfg.keys,
		StateDir: stateDir,

		MaxPollRecords: cfg.maxPoll,
	}
	stopProfile, err := startProfile(profile)
	if err != nil {
		return measurement{}, err
	}
	cpu0 := cpuTime()
	took, err := s.Run(ctx, env)
	cpu := cpuTime() - cpu0
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return measurement{}, err
	}
	if err := s.Check(ctx, env); err != nil {
		return measurement{}, err
	}
	return measurement{took: took, cpu: cpu}, nil
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startProfile starts a CPU profile into path and returns the function that
// stops it. An empty path profiles nothing.
func startProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// Targets of issue 5, on the project's 2-core machine.
const (
	mapEOSTarget   = 0.60    // of the plain loop's median
	countEOSTarget = 400_000 // records/s
)

// report writes the results as a markdown table.
func report(w io.Writer, cfg config, results []result) {
	fmt.Fprintf(w, "%d records, %d keys, %d partitions, %d runs each, GOMAXPROCS %d\n\n",
		cfg.records, cfg.keys, cfg.partitions, cfg.count, runtime.GOMAXPROCS(0))
	fmt.Fprintln(w, "| scenario | what runs | records/s (median) | range | of plain loop | CPU µs/record (median) | target |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	var plain float64
	for _, r := range results {
		if r.scenario.Name == "plain" {
			plain = median(r.rates)
		}
	}
	for _, r := range results {
		med := median(r.rates)
		share := ""
		if plain > 0 {
			share = fmt.Sprintf("%.0f%%", 100*med/plain)
		}
		target := ""
		switch r.scenario.Name {
		case "plain":
			target = "baseline"
		case "map-eos":
			target = fmt.Sprintf("≥ %.0f%% of plain", 100*mapEOSTarget)
			if plain > 0 {
				target += ": " + metOrMissed(med >= mapEOSTarget*plain)
			}
		case "count-eos":
			target = fmt.Sprintf("≥ %s records/s: %s", human(countEOSTarget), metOrMissed(med >= countEOSTarget))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s – %s | %s | %.2f | %s |\n", r.scenario.Name, r.scenario.Description,
			human(med), human(slices.Min(r.rates)), human(slices.Max(r.rates)), share, median(r.cpu), target)
	}
}

func metOrMissed(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// median returns the median of xs, which must not be empty.
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// human formats a rate as 1.23M, 456k or 789.
func human(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.0fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}
