package strata

import (
	"testing"
	"time"
)

// TestFencesLimit checks the limit on rejoining after fencing: a worker may
// rejoin until it has been fenced fenceLimit times within fenceWindow;
// fencings older than the window no longer count.
func TestFencesLimit(t *testing.T) {
	var f recent
	t0 := time.Unix(1_000_000, 0)
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{10 * time.Second, true},
		// A third fencing within the minute: give up.
		{50 * time.Second, false},
		// The first two are over a minute old: two recent fencings
		// (at 50s and now).
		{75 * time.Second, true},
		// 50s, 75s and now.
		{100 * time.Second, false},
		// Far later, the count starts again.
		{10 * time.Minute, true},
	}
	for _, s := range steps {
		if got := f.add(t0.Add(s.at), fenceLimit, fenceWindow); got != s.want {
			t.Fatalf("fenced at +%v: may rejoin = %v, want %v (fencings kept: %v)", s.at, got, s.want, f.at)
		}
	}
}
