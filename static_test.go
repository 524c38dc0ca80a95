package strata_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
)

// TestStaticMembership: with InstanceID set, each worker is a static group
// member. A clean stop leaves the members in the group, and a restart with
// the same InstanceID and state directory takes their places without
// waiting for their sessions (45s) to time out, and restores nothing. With
// LeaveGroupOnStop the members leave as the app stops. With the default
// InstanceID the workers are dynamic members, which leave too.
func TestStaticMembership(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 4}, {Name: "out", Partitions: 4}}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
	defer cancel()
	// members returns the group's members by instance ID ("-" for a
	// dynamic member).
	members := func() []string {
		t.Helper()
		described, err := c.Admin().DescribeGroups(ctx, "static")
		if err == nil {
			err = described.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range described["static"].Members {
			id := "-"
			if m.InstanceID != nil {
				id = *m.InstanceID
			}
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids
	}
	// settled waits until the group is stable with the members want,
	// each assigned some of the four partitions, all of them: the
	// rebalances of a start are over. (A worker stopping during a
	// rebalance leaves the group.)
	settled := func(want []string) {
		t.Helper()
		for {
			described, err := c.Admin().DescribeGroups(ctx, "static")
			if err != nil {
				t.Fatal(err)
			}
			g := described["static"]
			ok := g.State == "Stable" && len(g.Members) == len(want)
			assigned := 0
			for _, m := range g.Members {
				a, isConsumer := m.Assigned.AsConsumer()
				n := 0
				if isConsumer {
					for _, tp := range a.Topics {
						n += len(tp.Partitions)
					}
				}
				ok = ok && n > 0
				assigned += n
			}
			if ok && assigned == 4 {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("the group did not settle with members %q: state %s, %d members", want, g.State, len(g.Members))
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	model := map[string]int64{}
	// run runs app until the group has settled and the app has counted
	// one more record of each key, on all four partitions (so every
	// worker has received its assignment), checks the group's members,
	// stops the app and returns how long all that took from the start.
	run := func(app *strata.App, running []string) time.Duration {
		t.Helper()
		r := start(t, app)
		began := time.Now()
		settled(running)
		var keys []string
		for i := range 20 {
			k := fmt.Sprintf("k%02d", i)
			keys = append(keys, k)
			model[k]++
		}
		produceKeys(t, c, keys)
		if err := waitCounts(ctx, c, model, true); err != nil {
			t.Fatalf("counts: %v", err)
		}
		took := time.Since(began)
		if got := members(); !slices.Equal(got, running) {
			t.Errorf("members while running: %q, want %q", got, running)
		}
		r.stopAndWait(t)
		return took
	}
	newApp := func(cfg strata.Config) *strata.App {
		t.Helper()
		app, err := strata.New(countTopology(t, nil), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
	static := []string{"static-1", "static-1-1"}
	cfg := testConfig(t, c, "static")
	cfg.InstanceID = "static-1"
	cfg.Workers = 2

	run(newApp(cfg), static)
	if got := members(); !slices.Equal(got, static) {
		t.Fatalf("members after a clean stop: %q, want the static members %q still there", got, static)
	}

	restarted := newApp(cfg)
	if took := run(restarted, static); took > 15*time.Second {
		t.Errorf("the restart took %v to count; a restart replaces its static members at once, without waiting for their sessions to time out (45s)", took)
	}
	if n := restarted.Metrics().RestoredRecords; n != 0 {
		t.Errorf("the restart restored %d records, want 0 after a clean stop", n)
	}

	cfg.LeaveGroupOnStop = true
	run(newApp(cfg), static)
	if got := members(); len(got) != 0 {
		t.Fatalf("members after a stop with LeaveGroupOnStop: %q, want none", got)
	}

	cfg.LeaveGroupOnStop, cfg.InstanceID = false, ""
	run(newApp(cfg), []string{"-", "-"})
	if got := members(); len(got) != 0 {
		t.Fatalf("members after dynamic members stopped: %q, want none", got)
	}
}
