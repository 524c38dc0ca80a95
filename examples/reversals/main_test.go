package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
)

// mainOutput is what the example prints with no flags.
// The throughput line's figures vary: maskThroughput replaces them with
// "…".
const mainOutput = `90 bookings, 30 cancelled; the wallet fails 60% of calls; up to 4 calls per booking
handler throughput, first pass: …
first pass: 24 reversed, 6 in the dead set:
  b0000  retries-exhausted  reverse booking b0000: wallet answered 503 Service Unavailable
  b0018  retries-exhausted  reverse booking b0018: wallet answered 503 Service Unavailable
  b0036  retries-exhausted  reverse booking b0036: wallet answered 503 Service Unavailable
  b0048  retries-exhausted  reverse booking b0048: wallet answered 503 Service Unavailable
  b0075  retries-exhausted  reverse booking b0075: wallet answered 503 Service Unavailable
  b0087  retries-exhausted  reverse booking b0087: wallet answered 503 Service Unavailable
wallet fixed; POST /v1/dead_set/replay replayed 6 through reversals-example-reverse-reservation-retry
dead set after the replay: 0 records
final balances:
  ana     790.00
  bo      782.50
  chen    792.50
  dara    787.50
  eli     797.50
every cancelled booking reversed exactly once: 30 of 30
`

// The example on the embedded broker, under each guarantee: the exhausted
// bookings are the ones the wallet's failures predict (which calls fail
// depends only on the booking and the call's number, and the worker calls
// each booking at most the policy's 4 times before the replay), and after
// the replay every cancelled booking is reversed exactly once (run checks
// the balances and fails otherwise).
func TestMainRuns(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"at-least-once", nil},
		{"exactly-once", []string{"-exactly-once"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			if err := run(ctx, append(tc.args, "-state-dir", t.TempDir()), &stdout, &stderr); err != nil {
				t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
			}
			if got := maskThroughput(t, stdout.String()); got != mainOutput {
				t.Errorf("output:\n%s\nwant:\n%s\nstderr:\n%s", got, mainOutput, &stderr)
			}
		})
	}
}

// maskThroughput replaces the figures of out's throughput line with "…",
// checking that they read as calls, a duration and a positive rate.
func maskThroughput(t *testing.T, out string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^(` + regexp.QuoteMeta(throughputLine) + `) (\d+) wallet calls in ([^:]+): (\d+) records/s$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Errorf("no throughput line in:\n%s", out)
		return out
	}
	calls, _ := strconv.Atoi(m[2])
	took, err := time.ParseDuration(m[3])
	rate, _ := strconv.Atoi(m[4])
	if calls < 30 || err != nil || took <= 0 || rate <= 0 {
		t.Errorf("throughput line %q: want at least 30 calls, a duration and a positive rate", m[0])
	}
	return strings.Replace(out, m[0], m[1]+" …", 1)
}

// TestMainOnCluster runs the example twice with -brokers on a cluster that
// has none of its topics: the first run creates them; the second refuses
// the dead set holding the first's records; with -reuse it runs as the
// first did, reading only its own dead records.
func TestMainOnCluster(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	args := []string{"-brokers", strings.Join(c.Addrs(), ","), "-state-dir", t.TempDir()}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("first run: %v\nstderr:\n%s", err, &stderr)
	}
	if got := maskThroughput(t, stdout.String()); got != mainOutput {
		t.Errorf("first run's output:\n%s\nwant:\n%s", got, mainOutput)
	}
	stdout.Reset()
	err := run(ctx, args, &stdout, &stderr)
	if !errors.Is(err, kafkaflags.ErrUsed) || !strings.Contains(err.Error(), deadSetTopic) || stdout.Len() > 0 {
		t.Fatalf("second run: %v, output %q; want a refusal naming %s and no output", err, &stdout, deadSetTopic)
	}
	if err := run(ctx, append(args, "-reuse"), &stdout, &stderr); err != nil {
		t.Fatalf("run with -reuse: %v\nstderr:\n%s", err, &stderr)
	}
	if got := maskThroughput(t, stdout.String()); got != mainOutput {
		t.Errorf("output with -reuse:\n%s\nwant:\n%s", got, mainOutput)
	}
}

func TestMainRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-fail", "1.5"}, {"-fail", "-0.1"}, {"-concurrency", "0"}, {"-latency", "-1s"}, {"extra"}} {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), args, &stdout, &stderr)
		if err == nil || stdout.Len() > 0 {
			t.Errorf("run %q: err %v, output %q; want an error and no output", args, err, &stdout)
		}
		if err != nil && !strings.Contains(err.Error(), strings.TrimLeft(args[0], "-")) {
			t.Errorf("run %q: %v does not name the flag", args, err)
		}
	}
}
