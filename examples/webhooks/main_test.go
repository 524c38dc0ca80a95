package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
	"github.com/strata-go/strata/retry"
)

// TestMainRuns runs the program on the embedded broker under both
// guarantees, as `go run ./examples/webhooks` does: run checks every
// subscriber's deliveries and the dead set (Check) and fails otherwise;
// the test also checks what it prints of the subscribers that never fail
// (each key's events in order, as the subscriptions say, the change
// included) and of the dead set, exactly. The flaky subscriber's
// arrivals interleave with its retries as timing has it.
func TestMainRuns(t *testing.T) {
	const n, share = 30, 0.5
	for _, g := range []struct {
		name string
		args []string
	}{{"at-least-once", nil}, {"exactly-once", []string{"-exactly-once"}}} {
		t.Run(g.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			args := append([]string{"-events", fmt.Sprint(n), "-fail", fmt.Sprint(share), "-slow", "5ms", "-state-dir", t.TempDir()}, g.args...)
			var stdout, stderr bytes.Buffer
			if err := run(ctx, args, &stdout, &stderr); err != nil {
				t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
			}
			for _, want := range wantPrinted(n, share) {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("output:\n%s\nwant it to contain:\n%s", &stdout, want)
				}
			}
		})
	}
}

// wantPrinted is what the program prints of the healthy and slow
// subscribers, and of the dead set, for n events a batch, the flaky
// subscriber failing share of calls.
func wantPrinted(n int, share float64) [2]string {
	first, second := Sample(0, n), Sample(n, n)
	_, change := RouteChange()
	want := Expected(InitialRoutes(), first)
	for s, ks := range Expected(InitialRoutes().Apply(change), second) {
		want[s] = append(want[s], ks...)
	}
	got := map[string][]Received{}
	for _, s := range []string{Healthy, Slow} {
		for _, k := range want[s] {
			got[s] = append(got[s], Received{Key: k.Key, Event: k.Event, Attempt: 1})
		}
	}
	dead := WantDead(want, map[string]float64{Flaky: share}, Policy().MaxAttempts)
	for i, d := range dead {
		dead[i].Reason = retry.ReasonExhausted
		dead[i].Message = fmt.Sprintf("deliver %s to %s: 503 Service Unavailable", d.Delivery.Event.ID, d.Delivery.Subscriber)
	}
	var b strings.Builder
	Print(&b, got, dead)
	// Print's sections in order: healthy, slow, flaky (empty here), the
	// dead set.
	s := b.String()
	return [2]string{s[:strings.Index(s, Flaky+" received ")], s[strings.Index(s, "dead set:"):]}
}

// The program refuses a cluster whose events topic holds an earlier run's
// records, unless told to reuse it; then the second run's deliveries are
// checked as the first's (the group's committed offsets skip the first
// run's events).
func TestMainRefusesEarlierOutput(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	args := []string{"-brokers", strings.Join(c.Addrs(), ","), "-events", "5", "-state-dir", t.TempDir()}
	var out bytes.Buffer
	if err := run(ctx, args, &out, &out); err != nil {
		t.Fatalf("first run: %v\n%s", err, &out)
	}
	out.Reset()
	if err := run(ctx, args, &out, &out); !errors.Is(err, kafkaflags.ErrUsed) {
		t.Fatalf("second run: %v, want kafkaflags.ErrUsed\n%s", err, &out)
	}
	out.Reset()
	if err := run(ctx, append(args, "-reuse"), &out, &out); err != nil {
		t.Fatalf("run with -reuse: %v\n%s", err, &out)
	}
}
