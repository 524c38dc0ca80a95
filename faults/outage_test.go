package faults_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-go/strata"
)

// outages are the broker outages the suite rides out: the brokers stop in
// the middle of a transaction (at-least-once: between commits) and start
// again on the same addresses with the same data after the outage.
var outages = []time.Duration{time.Second, 10 * time.Second, 60 * time.Second}

// resumeBound bounds the time from the brokers' return to every input being
// processed and committed: with the test's group timeouts (session 6s,
// rebalance 10s), a reset's backoff (at most 5s) and a restoration.
const resumeBound = 45 * time.Second

// stopBound bounds Run's return after its context is cancelled: the
// test's ShutdownTimeout (3s), closing the clients (5s), and slack for a
// loaded machine.
const stopBound = 15 * time.Second

// TestBrokerOutage stops the brokers mid-run for 1s, 10s and 60s under both
// guarantees. The app rides the outage out: once the brokers are back it
// resumes within resumeBound, every count is exact under exactly-once and
// none is lost under at-least-once, and Run returns within stopBound of
// being cancelled.
func TestBrokerOutage(t *testing.T) {
	t.Parallel()
	durations := outages
	if *long {
		durations = append(durations, 2*time.Minute)
	}
	for _, d := range durations {
		for _, g := range guarantees {
			t.Run(fmt.Sprintf("%v/%s", d, g), func(t *testing.T) {
				t.Parallel()
				outage(t, d, g)
			})
		}
	}
}

func outage(t *testing.T, d time.Duration, g strata.Guarantee) {
	const keys, before, during = 20, 600, 3000
	c := cluster(t, countTopics()...)
	model := countModel{}
	first := keyedInput("in", before, keys, nil)
	model.add(first)
	produce(t, c, first...)

	var (
		seen    atomic.Int64
		trigger = int64(before + during/3)
		down    = make(chan time.Time, 1)
		once    sync.Once
	)
	top := countTopology(t, func(string) {
		// The outage begins in the middle of the second batch's
		// processing, with output and offsets of a transaction
		// (or of a commit interval) in flight.
		if seen.Add(1) == trigger {
			once.Do(func() {
				go func() {
					c.Stop()
					down <- time.Now()
				}()
			})
		}
	})
	cfg := appConfig(t, c, "outage", g)
	cfg.DisableCache = true
	cfg.ShutdownTimeout = 3 * time.Second
	cfg.ClientOptions = append(cfg.ClientOptions, groupTimeouts()...)
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, app)
	waitCommitted(t, c, "outage", "in", r.stopped)

	second := keyedInput("in", during, keys, nil)
	model.add(second)
	produce(t, c, second...)
	var stoppedAt time.Time
	select {
	case stoppedAt = <-down:
	case <-time.After(waitLimit):
		t.Fatalf("the app processed %d of %d records; the outage never began", seen.Load(), trigger)
	}
	<-time.After(d) // the outage itself: its length is what the scenario is about
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	t.Logf("brokers down for %v", back.Sub(stoppedAt).Round(time.Millisecond))
	waitCommitted(t, c, "outage", "in", r.stopped)
	resumed := time.Since(back)
	t.Logf("every input committed %v after the brokers came back", resumed.Round(time.Millisecond))
	if resumed > resumeBound {
		t.Errorf("resuming took %v, more than %v", resumed, resumeBound)
	}
	took, err := r.stop(t, stopBound)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("Run returned %v after cancel; %d worker resets", took.Round(time.Millisecond), app.Metrics().Resets)
	checkCounts(t, c, model, g)
}

// TestCancelDuringOutage cancels Run while the brokers are down: Run returns
// within stopBound, having committed nothing it could not, and a new run
// once the brokers are back finishes with exact (exactly-once) or complete
// (at-least-once) counts.
func TestCancelDuringOutage(t *testing.T) {
	t.Parallel()
	for _, g := range guarantees {
		t.Run(g.String(), func(t *testing.T) {
			t.Parallel()
			const keys, n = 20, 3000
			c := cluster(t, countTopics()...)
			model := countModel{}
			input := keyedInput("in", n, keys, nil)
			model.add(input)
			produce(t, c, input...)
			var (
				seen atomic.Int64
				down = make(chan struct{})
				once sync.Once
			)
			top := countTopology(t, func(string) {
				if seen.Add(1) == n/2 {
					once.Do(func() {
						go func() {
							c.Stop()
							close(down)
						}()
					})
				}
			})
			cfg := appConfig(t, c, "cancel-outage", g)
			cfg.DisableCache = true
			cfg.ShutdownTimeout = 3 * time.Second
			cfg.ClientOptions = append(cfg.ClientOptions, groupTimeouts()...)
			app, err := strata.New(top, cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := run(t, app)
			select {
			case <-down:
			case <-time.After(waitLimit):
				t.Fatal("the outage never began")
			}
			took, err := r.stop(t, stopBound)
			t.Logf("Run returned %v after cancel during the outage: %v", took.Round(time.Millisecond), err)
			if err := c.Restart(); err != nil {
				t.Fatal(err)
			}
			app2, err := strata.New(countTopology(t, nil), cfg)
			if err != nil {
				t.Fatal(err)
			}
			r2 := run(t, app2)
			waitCommitted(t, c, "cancel-outage", "in", r2.stopped)
			if _, err := r2.stop(t, stopBound); err != nil {
				t.Fatalf("second Run: %v", err)
			}
			checkCounts(t, c, model, g)
		})
	}
}
