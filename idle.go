package strata

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/strata-go/strata/internal/engine"
)

// learnPositions tells newly opened tasks that read several partitions where
// each partition starts (the group's committed offset, or the log's start
// without one) and ends (its last stable offset), so that a task whose input
// lags holds its other inputs' records back from its first record on
// (Config.MaxTaskIdle; engine/idle.go). Fetches keep the ends up to date
// afterwards. Committed offsets are read stable: a transaction that commits
// offsets still pending would otherwise show an older position, below an end
// that no record would ever reach. What cannot be listed is logged, and the
// task then learns the partition's end from its first fetch.
func (r *runner) learnPositions(ctx context.Context, tasks []*engine.Task) {
	if r.cfg.MaxTaskIdle < 0 {
		return
	}
	var topics []string
	seen := map[string]bool{}
	var multi []*engine.Task
	for _, t := range tasks {
		if len(t.Inputs()) < 2 {
			continue
		}
		multi = append(multi, t)
		for _, in := range t.Inputs() {
			if !seen[in.Topic] {
				seen[in.Topic] = true
				topics = append(topics, in.Topic)
			}
		}
	}
	if len(multi) == 0 {
		return
	}
	committed, cerr := r.adm.FetchOffsetsForTopics(kadm.RequireStable(ctx), r.cfg.ApplicationID, topics...)
	starts, serr := r.adm.ListStartOffsets(ctx, topics...)
	ends, eerr := r.adm.ListCommittedOffsets(ctx, topics...)
	if err := errors.Join(cerr, serr, eerr); err != nil {
		r.log.Warn("cannot list input positions; tasks learn them from fetches", "topics", topics, "err", err)
		return
	}
	for _, t := range multi {
		for _, in := range t.Inputs() {
			start, ok := starts.Lookup(in.Topic, in.Partition)
			end, ok2 := ends.Lookup(in.Topic, in.Partition)
			c, ok3 := committed.Lookup(in.Topic, in.Partition)
			if !ok || start.Err != nil || !ok2 || end.Err != nil || ok3 && c.Err != nil {
				continue
			}
			pos := start.Offset
			if ok3 && c.At >= 0 {
				pos = max(pos, c.At)
			}
			t.SetPosition(in.Topic, pos)
			t.SetEnd(in.Topic, end.Offset)
		}
	}
}

// taskWaits times how long each task has waited for a lagging input
// (engine.Task.Waiting) without processing anything. Tasks take turns
// waiting while a poll drains the client's buffered fetches partition by
// partition, so each task is timed on its own: a task is due only after
// it has itself made no progress for the whole wait.
type taskWaits map[engine.TaskID]taskWait

type taskWait struct {
	since     time.Time
	processed int64 // the task's Metrics.Processed at since
}

// due returns the tasks of tasks that hold records and have waited for a
// lagging input, processing nothing, for at least max by now, and forgets
// them; it starts timing tasks that begin to wait, and stops timing those
// that no longer wait, processed records or are gone.
func (w *taskWaits) due(tasks map[engine.TaskID]*engine.Task, now time.Time, max time.Duration) []*engine.Task {
	if *w == nil {
		*w = taskWaits{}
	}
	for id := range *w {
		if tasks[id] == nil {
			delete(*w, id)
		}
	}
	var due []*engine.Task
	for id, t := range tasks {
		if t.Buffered() == 0 || !t.Waiting() {
			delete(*w, id)
			continue
		}
		tw, ok := (*w)[id]
		switch {
		case !ok || tw.processed != t.Metrics.Processed:
			(*w)[id] = taskWait{since: now, processed: t.Metrics.Processed}
		case now.Sub(tw.since) >= max:
			delete(*w, id)
			due = append(due, t)
		}
	}
	return due
}
