package main

import (
	"slices"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// The example's topics and store. Every name starts with "importjobs-" so
// that the example cannot write into a cluster's other topics.
const (
	// RequestsTopic holds import requests, keyed by request ID.
	RequestsTopic = "importjobs-requests"
	// JobsTopic holds job-completed events, keyed by job ID; a job's
	// event may be delivered more than once.
	JobsTopic = "importjobs-jobs-completed"
	// CompletionsTopic receives one Completion per import request, keyed
	// by request ID, once all its jobs are done.
	CompletionsTopic = "importjobs-completions"
	// StoreName names the progress store, and so its changelog
	// ("<application ID>-progress-changelog") and the repartition topic
	// that brings a request and its jobs together
	// ("<application ID>-progress-repartition").
	StoreName = "progress"
)

// Request asks for an import that the importer fans out into Jobs jobs.
type Request struct {
	ID   string `json:"id"`
	Jobs int    `json:"jobs"`
}

// JobDone says that one job of a request completed.
type JobDone struct {
	RequestID string `json:"request_id"`
	JobID     string `json:"job_id"`
}

// Completion is the notification that every job of a request completed.
type Completion struct {
	RequestID string `json:"request_id"`
	Jobs      int    `json:"jobs"`
}

// Event is a request or a job event, brought together by request ID.
type Event struct {
	Request *Request `json:"request,omitempty"`
	Job     *JobDone `json:"job,omitempty"`
}

// Progress is what is known of one request: its number of jobs (0 until
// the request is seen), the IDs of its completed jobs, sorted, whether
// it is complete, and whether the event just folded in completed it.
type Progress struct {
	Total         int      `json:"total"`
	Done          []string `json:"done"`
	Complete      bool     `json:"complete"`
	JustCompleted bool     `json:"just_completed"`
}

// Fold adds an event to a request's progress. A job seen before changes
// nothing (its event was delivered twice); the request and its jobs may
// arrive in any order. Only the event that completes the request sets
// JustCompleted.
func Fold(_ string, e Event, p Progress) Progress {
	p.JustCompleted = false
	switch {
	case e.Request != nil:
		p.Total = e.Request.Jobs
	case e.Job != nil:
		i, seen := slices.BinarySearch(p.Done, e.Job.JobID)
		if seen {
			return p
		}
		p.Done = slices.Insert(slices.Clip(p.Done), i, e.Job.JobID)
	}
	if !p.Complete && p.Total > 0 && len(p.Done) >= p.Total {
		p.Complete, p.JustCompleted = true, true
	}
	return p
}

// Topology builds the import-job aggregation of Wix's "events
// aggregation" pattern:
//
//	importjobs-requests ───────────────────────────┐
//	                                               merge ─▶ progress-repartition ─▶ aggregate (store "progress") ─▶ just completed? ─▶ importjobs-completions
//	importjobs-jobs-completed ─▶ key by request ───┘
//
// Requests and job events are merged into one stream keyed by request ID;
// grouping it sends both through one repartition topic, so a request and
// all its jobs reach the one task that folds them (Fold). Duplicate job
// events are recognised by job ID in the store. Under exactly-once the
// store's changelog, the completion and the input offsets commit together,
// so a crash can neither lose a completion nor send one twice.
//
// The store's record cache is off: with it, a request's completing
// update and a later duplicate's update could be collapsed into the latter
// before the cache flushed, and the completion would never be forwarded.
// (Kafka Streams' caching has the same effect; an aggregation whose output
// depends on each update, not on the latest value, needs it off.)
func Topology() (*topology.Topology, error) {
	b := topology.NewBuilder()
	requests := kstream.MapValues(
		kstream.From(b, RequestsTopic, serde.String(), serde.JSON[Request](), kstream.Named("requests")),
		func(_ string, r Request) Event { return Event{Request: &r} }, kstream.Named("request-events"))
	jobs := kstream.Map(
		kstream.From(b, JobsTopic, serde.String(), serde.JSON[JobDone](), kstream.Named("jobs")),
		func(_ string, j JobDone) (string, Event) { return j.RequestID, Event{Job: &j} }, kstream.Named("job-events"))
	progress := ktable.Aggregate(ktable.GroupByKey(requests.Merge(jobs, kstream.Named("events")),
		ktable.WithValueSerde(serde.JSON[Event]())),
		func() Progress { return Progress{} }, Fold,
		ktable.Named(StoreName), ktable.WithValueSerde(serde.JSON[Progress]()),
		ktable.WithStoreOptions(state.Caching(false)))
	completions := kstream.MapValues(
		progress.ToStream(ktable.Named("progress-updates")).
			Filter(func(_ string, p Progress) bool { return p.JustCompleted }, kstream.Named("just-completed")),
		func(id string, p Progress) Completion { return Completion{RequestID: id, Jobs: p.Total} },
		kstream.Named("completion"))
	completions.To(CompletionsTopic, kstream.WithSerdes(serde.String(), serde.JSON[Completion]()),
		kstream.Named("to-completions"))
	return b.Build()
}
