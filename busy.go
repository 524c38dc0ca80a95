package strata

import (
	"slices"

	"github.com/strata-go/strata/internal/engine"
)

// A task whose concurrent or batch outcome handler holds as many records as
// it may (engine.Task.Busy; topology.Handler.Concurrency,
// Config.MaxInFlight) takes no more: its records stay buffered, and the
// worker pauses its partitions, so that no more are fetched for it, until
// records finish and it is not busy any more. Buffering stays bounded by
// what was fetched before the pause.

// busyTask is a busy task and the partitions paused for it.
type busyTask struct {
	task   *engine.Task
	paused map[string][]int32
}

// pauseBusy pauses the partitions of those of tasks that are busy and
// still have records buffered or may be fetched more. Called with mu held.
func (r *runner) pauseBusy(tasks []*engine.Task) {
	for _, t := range tasks {
		if _, ok := r.busy[t.ID]; ok || !t.Busy() {
			continue
		}
		b := &busyTask{task: t, paused: map[string][]int32{}}
		for _, in := range t.Inputs() {
			b.paused[in.Topic] = append(b.paused[in.Topic], in.Partition)
		}
		if r.busy == nil {
			r.busy = map[engine.TaskID]*busyTask{}
		}
		r.busy[t.ID] = b
		r.cl.PauseFetchPartitions(b.paused)
	}
}

// resumeBusy resumes the partitions of the paused tasks that are no longer
// busy and processes what they buffered; tasks that took records while
// their results came back may be busy again. Called with mu held.
func (r *runner) resumeBusy() error {
	if len(r.busy) == 0 {
		return nil
	}
	var free []*engine.Task
	for id, b := range r.busy {
		if b.task.Busy() {
			continue
		}
		r.resumeBusyTask(b)
		delete(r.busy, id)
		free = append(free, b.task)
	}
	for _, t := range free {
		if err := r.processWith(t, t.ProcessAll); err != nil {
			return err
		}
	}
	r.holdBack(free)
	r.pauseBusy(free)
	return nil
}

// resumeBusyTask resumes b's partitions, but those paused because their
// records are held back until due (held.go).
func (r *runner) resumeBusyTask(b *busyTask) {
	resume := b.paused
	if h := r.held[b.task.ID]; h != nil && len(h.paused) > 0 {
		resume = map[string][]int32{}
		for topic, parts := range b.paused {
			for _, p := range parts {
				if !slices.Contains(h.paused[topic], p) {
					resume[topic] = append(resume[topic], p)
				}
			}
		}
	}
	if len(resume) > 0 {
		r.cl.ResumeFetchPartitions(resume)
	}
}

// dropBusy forgets task id, which is closing, and resumes its partitions:
// the next task to read them must fetch them. Called with mu held.
func (r *runner) dropBusy(id engine.TaskID) {
	if b := r.busy[id]; b != nil {
		if cl := r.group.Load(); cl != nil {
			cl.ResumeFetchPartitions(b.paused)
		}
		delete(r.busy, id)
	}
}
