package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
)

func TestFold(t *testing.T) {
	job := func(id string) Event { return Event{Job: &JobDone{RequestID: "r", JobID: id}} }
	req := func(n int) Event { return Event{Request: &Request{ID: "r", Jobs: n}} }
	tests := []struct {
		name   string
		events []Event
		want   Progress
		// completedAt is the index of the event that must set
		// JustCompleted, or -1.
		completedAt int
	}{
		{"request first", []Event{req(2), job("a"), job("b")}, Progress{Total: 2, Done: []string{"a", "b"}, Complete: true}, 2},
		{"jobs first", []Event{job("b"), job("a"), req(2)}, Progress{Total: 2, Done: []string{"a", "b"}, Complete: true}, 2},
		{"duplicate before completion", []Event{req(2), job("a"), job("a")}, Progress{Total: 2, Done: []string{"a"}}, -1},
		{"duplicate after completion", []Event{req(1), job("a"), job("a")}, Progress{Total: 1, Done: []string{"a"}, Complete: true}, 1},
		{"request redelivered after completion", []Event{req(1), job("a"), req(1)}, Progress{Total: 1, Done: []string{"a"}, Complete: true}, 1},
		{"no request", []Event{job("a")}, Progress{Done: []string{"a"}}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Progress
			completedAt := -1
			for i, e := range tt.events {
				p = Fold("r", e, p)
				if p.JustCompleted {
					if completedAt >= 0 {
						t.Errorf("completed at events %d and %d", completedAt, i)
					}
					completedAt = i
				}
			}
			p.JustCompleted = false
			if p.Total != tt.want.Total || !slices.Equal(p.Done, tt.want.Done) || p.Complete != tt.want.Complete {
				t.Errorf("progress %+v, want %+v", p, tt.want)
			}
			if completedAt != tt.completedAt {
				t.Errorf("completed at event %d, want %d", completedAt, tt.completedAt)
			}
		})
	}
}

// TestFoldDoesNotAlias: folding a job into a progress must not change a
// progress it came from (the store may hold it).
func TestFoldDoesNotAlias(t *testing.T) {
	p := Progress{Done: make([]string, 1, 8)}
	p.Done[0] = "b"
	before := slices.Clone(p.Done)
	Fold("r", Event{Job: &JobDone{RequestID: "r", JobID: "a"}}, p)
	if !slices.Equal(p.Done, before) {
		t.Errorf("Fold changed its input's jobs to %q", p.Done)
	}
}

// TestDriver runs samples through the test driver with four partitions
// per topic: exactly one completion per request whose jobs all
// completed, none for the others, whatever the order and the duplicates.
func TestDriver(t *testing.T) {
	for _, n := range []int{1, 20, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := NewSample(n)
			got := driverCompletions(t, s)
			if want := s.Expected(); !slices.Equal(got, want) {
				t.Errorf("completions:\n%v\nwant:\n%v", got, want)
			}
		})
	}
}

// driverCompletions pipes s through the topology in the driver and
// returns the completions, ordered by request ID.
func driverCompletions(t *testing.T, s Sample) []Completion {
	t.Helper()
	top, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: ApplicationID,
		Partitions: map[string]int{RequestsTopic: Partitions, JobsTopic: Partitions, CompletionsTopic: Partitions}})
	raw := map[string]*testutil.InputTopic[[]byte, []byte]{
		RequestsTopic: testutil.NewInputTopic(d, RequestsTopic, serde.Bytes(), serde.Bytes()),
		JobsTopic:     testutil.NewInputTopic(d, JobsTopic, serde.Bytes(), serde.Bytes()),
	}
	for _, r := range s.Records(time.UnixMilli(1_700_000_000_000)) {
		if err := raw[r.Topic].PipeRaw(r.Key, r.Value, r.Timestamp); err != nil {
			t.Fatalf("pipe %s %s: %v", r.Topic, r.Key, err)
		}
	}
	out := testutil.NewOutputTopic(d, CompletionsTopic, serde.String(), serde.JSON[Completion]())
	var got []Completion
	for _, r := range out.ReadAll() {
		if r.Key != r.Value.RequestID {
			t.Errorf("completion of %q keyed %q", r.Value.RequestID, r.Key)
		}
		got = append(got, r.Value)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].RequestID < got[j].RequestID })
	return got
}

// TestSampleShape: the sample has what the tests rely on: duplicates,
// jobs before their request, and incomplete requests.
func TestSampleShape(t *testing.T) {
	s := NewSample(20)
	uniq := map[JobDone]bool{}
	for _, j := range s.Jobs {
		uniq[j] = true
	}
	if len(uniq) == len(s.Jobs) {
		t.Error("no job event is delivered twice")
	}
	if len(s.Expected()) == len(s.Requests) || len(s.Expected()) == 0 {
		t.Errorf("%d of %d requests complete, want some but not all", len(s.Expected()), len(s.Requests))
	}
	seen := map[string]bool{}
	early := false
	for _, r := range s.Records(time.Now()) {
		switch r.Topic {
		case RequestsTopic:
			seen[string(r.Key)] = true
		case JobsTopic:
			var j JobDone
			if err := json.Unmarshal(r.Value, &j); err != nil {
				t.Fatal(err)
			}
			early = early || !seen[j.RequestID]
		}
	}
	if !early {
		t.Error("no job event comes before its request")
	}
}
