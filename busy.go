package strata

import (
	"slices"

	"github.com/strata-go/strata/internal/engine"
)

// A task whose concurrent or batch outcome handler holds as many records as
// it may (engine.Task.Busy; topology.Handler.Concurrency,
// Config.MaxInFlight) takes no more: its records stay buffered. Once a busy
// task has Config.MaxPollRecords records buffered, the worker pauses its
// partitions, so that no more are fetched for it, and resumes them once,
// after it took what it could, the task is not busy or has less than half
// that buffered. Buffering stays bounded by MaxPollRecords per task plus
// what one poll brings. The task keeps fetching meanwhile, so that a
// handler whose records finish quickly does not wait for a fetch each time
// it takes more, and its partitions are not paused and resumed at each
// record: a pause drops what the client fetched ahead of the poll, and a
// resumed partition is fetched only once the client's fetch in flight
// returns, which a fetch of partitions at their end holds for up to the
// fetch's maximum wait (fetchMaxWait: Kafka's 500ms, not franz-go's 5s).

// busyTask is a busy task and the partitions paused for it.
type busyTask struct {
	task   *engine.Task
	paused map[string][]int32
}

// pauseBusy pauses the partitions of those of tasks that are busy and
// buffer busyBuffer records or more. Called with mu held.
func (r *runner) pauseBusy(tasks []*engine.Task) {
	for _, t := range tasks {
		if _, ok := r.busy[t.ID]; ok || t.Buffered() < r.cfg.MaxPollRecords || !t.Busy() {
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

// resumeBusy processes what the paused tasks that are no longer busy
// buffered, and resumes the partitions of those that then are not busy or
// have less than half of Config.MaxPollRecords buffered; tasks that took records
// while their results came back may be busy again. Called with mu held.
func (r *runner) resumeBusy() error {
	if len(r.busy) == 0 {
		return nil
	}
	r.free = r.free[:0]
	for _, b := range r.busy {
		if !b.task.Busy() {
			r.free = append(r.free, b.task)
		}
	}
	for _, t := range r.free {
		if err := r.processWith(t, t.ProcessAll); err != nil {
			return err
		}
	}
	r.holdBack(r.free)
	for _, t := range r.free {
		if t.Busy() && t.Buffered() >= r.cfg.MaxPollRecords/2 {
			continue
		}
		r.resumeBusyTask(r.busy[t.ID])
		delete(r.busy, t.ID)
	}
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
