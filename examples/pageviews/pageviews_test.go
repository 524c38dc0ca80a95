package main

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/window"
)

// at is a time of the sample's default day, hh:mm:ss.
func at(h, m, s int) time.Time { return time.Date(2024, 5, 1, h, m, s, 0, time.UTC) }

// want are the sample's final results from DefaultStart, worked out by
// hand from the comments in sample.go.
var want = map[Result]int64{
	{"/docs", at(10, 0, 0)}:    2, // erin's view at 0:50 was too late
	{"/home", at(10, 0, 0)}:    4, // with dave's at 0:59, 10 s late
	{"/pricing", at(10, 0, 0)}: 2, // with carol's at 0:55, 7 s late
	{"/docs", at(10, 1, 0)}:    2,
	{"/home", at(10, 1, 0)}:    4, // with bob's at 1:57, 6 s late
	{"/docs", at(10, 2, 0)}:    1,
	{"/home", at(10, 2, 0)}:    1, // erin's view at 2:55 was too late
	{"/pricing", at(10, 2, 0)}: 2,
	{"/docs", at(10, 3, 0)}:    2,
	{"/home", at(10, 3, 0)}:    2,
}

func TestExpected(t *testing.T) {
	got, dropped := Expected(DefaultStart)
	if !maps.Equal(got, want) || dropped != 2 {
		t.Errorf("Expected = %v, %d dropped; want %v, 2 dropped", got, dropped, want)
	}
}

type driverResult struct {
	Result
	End   time.Time
	Count int64
}

// pipeSample runs the sample through the topology in the test driver, and
// returns what came out after each view.
func pipeSample(t *testing.T) ([][]driverResult, *testutil.Driver) {
	t.Helper()
	top, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: ApplicationID})
	in := testutil.NewInputTopic(d, InputTopic, serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, OutputTopic, window.TimeWindowedSerde(serde.String(), WindowSize), serde.Int64())
	var after [][]driverResult
	for _, r := range Records(DefaultStart) {
		in.PipeAt(string(r.Key), string(r.Value), r.Timestamp)
		var got []driverResult
		for _, kv := range out.ReadKeyValues() {
			w := kv.Key.Window
			got = append(got, driverResult{Result{kv.Key.Key, w.Start.UTC()}, w.End.UTC(), kv.Value})
		}
		after = append(after, got)
	}
	return after, d
}

// TestFinalResults checks that each closed window's count comes out once,
// exact, and that the two views too late for their windows are dropped.
func TestFinalResults(t *testing.T) {
	after, d := pipeSample(t)
	got := map[Result]int64{}
	for _, rs := range after {
		for _, r := range rs {
			if _, dup := got[r.Result]; dup {
				t.Errorf("%s at %s: a second result, %d", r.Page, r.Start.Format("15:04"), r.Count)
			}
			if !r.End.Equal(r.Start.Add(WindowSize)) {
				t.Errorf("%s at %s: window ends at %s", r.Page, r.Start.Format("15:04"), r.End.Format("15:04"))
			}
			got[r.Result] = r.Count
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("results:\n got %v\nwant %v", got, want)
	}
	if n := d.DroppedRecords(); n != 2 {
		t.Errorf("DroppedRecords = %d, want 2", n)
	}
}

// TestEmittedOnClose checks when results come out: a minute's counts come
// with the first view at or after its end plus grace, in order of page,
// and nothing comes before.
func TestEmittedOnClose(t *testing.T) {
	after, _ := pipeSample(t)
	for i, rs := range after {
		streamTime := DefaultStart
		for _, v := range Views[:i+1] {
			streamTime = maxTime(streamTime, DefaultStart.Add(v.At))
		}
		prev := DefaultStart
		for _, v := range Views[:i] {
			prev = maxTime(prev, DefaultStart.Add(v.At))
		}
		var wantNow []string
		for r := range want {
			closeAt := r.Start.Add(WindowSize + Grace)
			if prev.Before(closeAt) && !streamTime.Before(closeAt) {
				wantNow = append(wantNow, fmt.Sprintf("%s@%s", r.Page, r.Start.Format("15:04")))
			}
		}
		var gotNow []string
		for _, r := range rs {
			gotNow = append(gotNow, fmt.Sprintf("%s@%s", r.Page, r.Start.Format("15:04")))
		}
		if len(gotNow) != len(wantNow) {
			t.Errorf("after view %d (%s at %s): results %v, want %v (in any order)", i, Views[i].Page, Views[i].At, gotNow, wantNow)
		}
		for j := 1; j < len(rs); j++ {
			if rs[j-1].Start.Equal(rs[j].Start) && rs[j-1].Page > rs[j].Page {
				t.Errorf("after view %d: %v not in order of page", i, gotNow)
			}
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
