// Command bench measures Strata's runtime end to end on franz-go's kfake
// broker against a plain franz-go consume → produce loop in the same run.
//
// Each run of a scenario gets a fresh broker, started in this process, with
// N preloaded records (keys cycling through -keys distinct keys, or the
// scenario's own number, 16-byte values) on -partitions partitions. The
// scenario itself (the plain loop, or a Strata app) runs in a child
// process, this program started again, so that its peak RSS is its own and
// not the broker's, which holds every record in memory. A run is timed from
// the first input batch fetched to the last output record acknowledged or,
// where commits decide (exactly-once, counts), to the last commit answered.
// Its output is then read back and checked: every record mapped, every
// key's final count exact, every pair joined. After an unreported warm-up
// run, repetitions are interleaved across scenarios, and the report is a
// markdown table of the median records/s, their range, the median's ratio
// to the plain loop's, the median CPU time per record (the child's and the
// broker's), which varies less than records/s when other work shares the
// machine, and the child's median peak RSS.
//
//	go run ./bench -n 1000000 -count 3
//	go run ./bench -run 'count-eos' -count 1 -cpuprofile cpu.pprof
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
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
	// keyCap, if positive, caps the scenarios' own numbers of distinct
	// keys (tests run the high-cardinality scenarios small).
	keyCap int
	// recordCap, if positive, caps the scenarios' own numbers of records
	// (tests run the I/O-bound scenarios small).
	recordCap int
	// progress, if set, gets a line per run.
	progress io.Writer
}

func main() {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain(os.Stdin, os.Stdout))
	}
	cfg := config{progress: os.Stderr}
	flag.IntVar(&cfg.records, "n", 1_000_000, "records preloaded and processed per run (at least the scenario's own number of keys)")
	flag.IntVar(&cfg.keys, "keys", 10_000, "distinct keys of the preloaded records, for the scenarios without their own")
	flag.IntVar(&cfg.partitions, "partitions", 8, "partitions of the input and output topics")
	flag.StringVar(&cfg.run, "run", ".", "regular expression selecting the scenarios: "+strings.Join(scenarioNames(), ", "))
	flag.IntVar(&cfg.count, "count", 3, "runs of each scenario; the report gives their median and range")
	flag.StringVar(&cfg.stateDir, "statedir", "", "directory for the apps' state stores (default: a new temporary directory, removed afterwards)")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of each timed run (of its child process: the scenario, not the broker) to this file (with -<scenario>-<run> before the extension when several runs are selected)")
	flag.BoolVar(&cfg.warmup, "warmup", true, "run the first selected scenario once, unreported, before measuring")
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

func scenarioNames() []string {
	var names []string
	for _, s := range benchkit.Scenarios() {
		names = append(names, s.Name)
	}
	return names
}

// result holds one scenario's runs.
type result struct {
	scenario benchkit.Scenario
	records  int       // records per run
	rates    []float64 // records/s of each run
	cpu      []float64 // CPU time per record of each run, in µs
	rss      []float64 // peak RSS of each run's child process, in MiB
}

// measurement is what one run measured: the time from the first record
// fetched to the end of the run; the CPU time of the child process and of
// the broker's process while the child ran; and the child's peak RSS.
type measurement struct {
	took, cpu time.Duration
	peakRSS   int64 // bytes
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
			if cfg.keyCap > 0 && s.Keys > cfg.keyCap {
				s.Keys = cfg.keyCap
			}
			if cfg.recordCap > 0 && s.N > cfg.recordCap {
				s.N = cfg.recordCap
			}
			results = append(results, result{scenario: s, records: s.Records(cfg.records)})
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
			r := &results[i]
			s := r.scenario
			profile := cfg.cpuProfile
			if profile != "" && len(results)*cfg.count > 1 {
				ext := filepath.Ext(profile)
				profile = fmt.Sprintf("%s-%s-%d%s", strings.TrimSuffix(profile, ext), s.Name, rep+1, ext)
			}
			m, err := runOnce(ctx, cfg, s, filepath.Join(dir, fmt.Sprintf("%s-%d", s.Name, rep)), profile)
			if err != nil {
				return nil, fmt.Errorf("%s, run %d: %w", s.Name, rep+1, err)
			}
			rate := float64(r.records) / m.took.Seconds()
			cpu := float64(m.cpu.Microseconds()) / float64(r.records)
			rss := float64(m.peakRSS) / (1 << 20)
			r.rates = append(r.rates, rate)
			r.cpu = append(r.cpu, cpu)
			r.rss = append(r.rss, rss)
			if cfg.progress != nil {
				fmt.Fprintf(cfg.progress, "%-17s run %d/%d: %s records/s (%v), %.2f µs CPU/record, peak RSS %.0f MiB\n",
					s.Name, rep+1, cfg.count, human(rate), m.took.Round(time.Millisecond), cpu, rss)
			}
		}
	}
	return results, nil
}

// keysOf is the number of distinct keys s runs with.
func keysOf(cfg config, s benchkit.Scenario) int {
	if s.Keys > 0 {
		return s.Keys
	}
	return cfg.keys
}

// runOnce runs s on a fresh, preloaded broker, in a child process, with a
// CPU profile of the child into profile unless it is empty.
func runOnce(ctx context.Context, cfg config, s benchkit.Scenario, stateDir, profile string) (measurement, error) {
	n, keys := s.Records(cfg.records), keysOf(cfg, s)
	c, err := benchkit.Start(ctx, int32(cfg.partitions), n, keys, s.Preload)
	if err != nil {
		return measurement{}, err
	}
	defer c.Close()
	runtime.GC() // the preload's garbage is not the run's
	job := childJob{
		Scenario:       s.Name,
		Brokers:        c.Addrs(),
		Records:        n,
		Keys:           keys,
		StateDir:       stateDir,
		MaxPollRecords: cfg.maxPoll,
		CPUProfile:     profile,
	}
	cpu0 := cpuTime(syscall.RUSAGE_SELF)
	res, child, err := runChild(ctx, job)
	cpu := cpuTime(syscall.RUSAGE_SELF) - cpu0
	if err != nil {
		return measurement{}, err
	}
	env := benchkit.Env{Cluster: c, In: benchkit.InTopic, Out: benchkit.OutTopic, Records: n, Keys: keys}
	if err := s.Check(ctx, env); err != nil {
		return measurement{}, err
	}
	return measurement{
		took:    res.Took,
		cpu:     cpu + time.Duration(child.Utime.Nano()+child.Stime.Nano()),
		peakRSS: res.PeakRSS,
	}, nil
}

// childEnv, set in its environment, makes the command a child process
// running one scenario: see childMain.
const childEnv = "STRATA_BENCH_CHILD"

// childJob is what a child process runs, sent on its standard input.
type childJob struct {
	Scenario       string
	Brokers        []string
	Records, Keys  int
	StateDir       string
	MaxPollRecords int
	CPUProfile     string
}

// childResult is what a child process reports, on its standard output.
type childResult struct {
	Took time.Duration
	// PeakRSS is the child's peak resident set size, in bytes: VmHWM of
	// /proc/self/status when the run ends. (The rusage of a child from
	// wait4 will not do: its ru_maxrss counts the parent's RSS at the
	// fork, as the child's memory is the parent's until it execs.)
	PeakRSS int64
	Error   string
}

// runChild runs job in a child process and returns what it measured and
// its resource usage.
func runChild(ctx context.Context, job childJob) (childResult, *syscall.Rusage, error) {
	exe, err := os.Executable()
	if err != nil {
		return childResult{}, nil, fmt.Errorf("start child: %w", err)
	}
	in, err := json.Marshal(job)
	if err != nil {
		return childResult{}, nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdin = bytes.NewReader(in)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	runErr := cmd.Run()
	var res childResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return childResult{}, nil, errors.Join(fmt.Errorf("child: no result (%q): %w", out.String(), err), runErr)
	}
	if res.Error != "" {
		return childResult{}, nil, errors.New(res.Error)
	}
	if runErr != nil {
		return childResult{}, nil, fmt.Errorf("child: %w", runErr)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return childResult{}, nil, errors.New("child: no resource usage")
	}
	return res, ru, nil
}

// childMain runs the job read from in, reports its result to out and
// returns the exit code.
func childMain(in io.Reader, out io.Writer) int {
	res := childResult{}
	took, err := childRun(in)
	if err == nil {
		res.PeakRSS, err = peakRSS()
	}
	if err != nil {
		res.Error = err.Error()
	}
	res.Took = took
	if err := json.NewEncoder(out).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	if err != nil {
		return 1
	}
	return 0
}

func childRun(in io.Reader) (time.Duration, error) {
	var job childJob
	if err := json.NewDecoder(in).Decode(&job); err != nil {
		return 0, fmt.Errorf("child: read job: %w", err)
	}
	i := slices.IndexFunc(benchkit.Scenarios(), func(s benchkit.Scenario) bool { return s.Name == job.Scenario })
	if i < 0 {
		return 0, fmt.Errorf("child: no scenario %q", job.Scenario)
	}
	s := benchkit.Scenarios()[i]
	env := benchkit.Env{
		Brokers:        job.Brokers,
		In:             benchkit.InTopic,
		Out:            benchkit.OutTopic,
		Records:        job.Records,
		Keys:           job.Keys,
		StateDir:       job.StateDir,
		MaxPollRecords: job.MaxPollRecords,
	}
	stopProfile, err := startProfile(job.CPUProfile)
	if err != nil {
		return 0, err
	}
	took, err := s.Run(context.Background(), env)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	return took, err
}

// peakRSS returns the process's peak resident set size so far, in bytes
// (VmHWM in /proc/self/status).
func peakRSS() (int64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("peak RSS: %q: %w", line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc/self/status")
}

// cpuTime returns the CPU time, user and system, of who (RUSAGE_SELF or
// RUSAGE_CHILDREN).
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
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

// Targets on the project's 2-core machine, as ratios to the plain loop's
// median in the same run (issues 5 and 17), records/s, or ratios to
// another scenario's median in the same run (issue 19).
var targets = map[string]struct {
	ofPlain float64 // of the plain loop's median; 0: none
	rate    float64 // records/s; 0: none
	// of is the scenario whose median ratio is a ratio of.
	of    string
	ratio float64
}{
	"handle-noop-200":   {of: "handle-alos", ratio: 0.8},
	"handle-io-200":     {of: "handle-io-seq", ratio: 50},
	"map-eos":           {ofPlain: 0.60},
	"count-eos":         {rate: 400_000},
	"count-eos-nocache": {ofPlain: 0.35},
	"count-eos-1m":      {ofPlain: 0.35},
	"count-eos-2m":      {ofPlain: 0.30},
	"wcount-eos":        {ofPlain: 1},
}

// report writes the results as a markdown table.
func report(w io.Writer, cfg config, results []result) {
	fmt.Fprintf(w, "%d records (at least), %d keys (unless the scenario has its own), %d partitions, %d runs each, GOMAXPROCS %d\n\n",
		cfg.records, cfg.keys, cfg.partitions, cfg.count, runtime.GOMAXPROCS(0))
	fmt.Fprintln(w, "| scenario | what runs | records/s (median) | range | of plain loop | CPU µs/record (median) | peak RSS MiB (median) | target |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	var plain float64
	medians := map[string]float64{}
	for _, r := range results {
		medians[r.scenario.Name] = median(r.rates)
		if r.scenario.Name == "plain" {
			plain = median(r.rates)
		}
	}
	for _, r := range results {
		med := median(r.rates)
		share := ""
		if plain > 0 {
			share = fmt.Sprintf("%.2f×", med/plain)
		}
		target := ""
		if r.scenario.Name == "plain" {
			target = "baseline"
		}
		if t, ok := targets[r.scenario.Name]; ok {
			switch {
			case t.ofPlain > 0:
				target = fmt.Sprintf("≥ %.2f× plain", t.ofPlain)
				if plain > 0 {
					target += ": " + metOrMissed(med >= t.ofPlain*plain)
				}
			case t.rate > 0:
				target = fmt.Sprintf("≥ %s records/s: %s", human(t.rate), metOrMissed(med >= t.rate))
			case t.of != "":
				target = fmt.Sprintf("≥ %.2f× %s", t.ratio, t.of)
				if base := medians[t.of]; base > 0 {
					target += fmt.Sprintf(": %.2f×, %s", med/base, metOrMissed(med >= t.ratio*base))
				}
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s – %s | %s | %.2f | %.0f | %s |\n", r.scenario.Name, r.scenario.Description,
			human(med), human(slices.Min(r.rates)), human(slices.Max(r.rates)), share, median(r.cpu), median(r.rss), target)
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
