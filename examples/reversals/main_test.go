package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// mainOutput is what the example prints with no flags.
const mainOutput = `90 bookings, 30 cancelled; the wallet fails 60% of calls; up to 4 calls per booking
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
			if got := stdout.String(); got != mainOutput {
				t.Errorf("output:\n%s\nwant:\n%s\nstderr:\n%s", got, mainOutput, &stderr)
			}
		})
	}
}

func TestMainRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-fail", "1.5"}, {"-fail", "-0.1"}, {"extra"}} {
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
