package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Sample is the example's input: import requests, and the job events of
// their jobs, some delivered twice and some before their request.
type Sample struct {
	Requests []Request
	Jobs     []JobDone
}

// NewSample makes n requests of 1 to 8 jobs each, with job events in a
// shuffled order (seeded, so every run is the same): one event in five is
// delivered twice, and the last job of every seventh request never
// completes, so that request gets no completion.
func NewSample(n int) Sample {
	rng := rand.New(rand.NewPCG(16, uint64(n)))
	var s Sample
	for i := range n {
		r := Request{ID: fmt.Sprintf("import-%03d", i), Jobs: 1 + rng.IntN(8)}
		s.Requests = append(s.Requests, r)
		jobs := r.Jobs
		if i%7 == 6 {
			jobs-- // one job never completes
		}
		for j := range jobs {
			e := JobDone{RequestID: r.ID, JobID: fmt.Sprintf("%s-job-%d", r.ID, j)}
			s.Jobs = append(s.Jobs, e)
			if rng.IntN(5) == 0 {
				s.Jobs = append(s.Jobs, e)
			}
		}
	}
	rng.Shuffle(len(s.Jobs), func(i, j int) { s.Jobs[i], s.Jobs[j] = s.Jobs[j], s.Jobs[i] })
	return s
}

// Expected returns the completions the sample must produce, one per
// request whose every job completed, ordered by request ID.
func (s Sample) Expected() []Completion {
	done := map[string]map[string]bool{}
	for _, j := range s.Jobs {
		if done[j.RequestID] == nil {
			done[j.RequestID] = map[string]bool{}
		}
		done[j.RequestID][j.JobID] = true
	}
	var want []Completion
	for _, r := range s.Requests {
		if len(done[r.ID]) == r.Jobs {
			want = append(want, Completion{RequestID: r.ID, Jobs: r.Jobs})
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].RequestID < want[j].RequestID })
	return want
}

// Records returns the sample as records to produce: the job events in
// their shuffled order, half the requests before them and half after, so
// that some jobs are counted before their request is seen. Timestamps
// increase from base by a millisecond a record.
func (s Sample) Records(base time.Time) []*kgo.Record {
	var recs []*kgo.Record
	add := func(topic, key string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // the sample's types always marshal
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(key), Value: b,
			Timestamp: base.Add(time.Duration(len(recs)) * time.Millisecond)})
	}
	half := len(s.Requests) / 2
	for _, r := range s.Requests[:half] {
		add(RequestsTopic, r.ID, r)
	}
	for _, j := range s.Jobs {
		add(JobsTopic, j.JobID, j)
	}
	for _, r := range s.Requests[half:] {
		add(RequestsTopic, r.ID, r)
	}
	return recs
}
