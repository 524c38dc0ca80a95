package strata

import (
	"slices"
	"time"

	"github.com/strata-go/strata/internal/engine"
)

// A task may hold an input's records back until a wall-clock time: records
// of a source with a due time (topology.Source.Due, a retry topic's), or a
// record a node asked to be delivered again later (engine.Task.Redeliver).
// While one waits, the worker pauses its partition, so that a topic of
// waiting records is not fetched into memory, and wakes the task when it is
// due: the loop's poll waits no longer than that. Held records are not
// committed (commits cover what the tasks processed).

// held is a task holding records back until due.
type held struct {
	task *engine.Task
	due  time.Time
	// paused are the partitions paused for it, by topic.
	paused map[string][]int32
}

// holdBack pauses the partitions whose first buffered record is not due,
// for each of tasks, and remembers when to wake the task. Called with mu
// held.
func (r *runner) holdBack(tasks []*engine.Task) {
	now := time.Now()
	for _, t := range tasks {
		inputs := t.HeldBack(now)
		if len(inputs) == 0 {
			continue
		}
		due, _ := t.NextDue()
		h := r.held[t.ID]
		if h == nil {
			h = &held{task: t, paused: map[string][]int32{}}
			if r.held == nil {
				r.held = map[engine.TaskID]*held{}
			}
			r.held[t.ID] = h
		}
		h.due = due
		pause := map[string][]int32{}
		for _, in := range inputs {
			if !slices.Contains(h.paused[in.Topic], in.Partition) {
				pause[in.Topic] = append(pause[in.Topic], in.Partition)
				h.paused[in.Topic] = append(h.paused[in.Topic], in.Partition)
			}
		}
		if len(pause) > 0 {
			r.cl.PauseFetchPartitions(pause)
		}
	}
}

// wakeHeld resumes the partitions of tasks whose held records are due and
// processes what they hold. Called with mu held.
func (r *runner) wakeHeld() error {
	if len(r.held) == 0 {
		return nil
	}
	now := time.Now()
	var woken []*engine.Task
	for id, h := range r.held {
		if h.due.After(now) {
			continue
		}
		r.releaseHeld(h)
		delete(r.held, id)
		woken = append(woken, h.task)
	}
	for _, t := range woken {
		if err := r.processWith(t, t.ProcessAll); err != nil {
			return err
		}
	}
	r.holdBack(woken)
	r.pauseBusy(woken)
	return nil
}

// releaseHeld resumes the partitions paused for h.
func (r *runner) releaseHeld(h *held) {
	if len(h.paused) > 0 {
		r.cl.ResumeFetchPartitions(h.paused)
	}
	h.paused = nil
}

// dropHeld forgets the held records of task id, which is closing, and
// resumes its partitions: a partition stays paused through its revocation,
// and the next task to read it must fetch it. Called with mu held.
func (r *runner) dropHeld(id engine.TaskID) {
	if h := r.held[id]; h != nil {
		if cl := r.group.Load(); cl != nil && len(h.paused) > 0 {
			cl.ResumeFetchPartitions(h.paused)
		}
		delete(r.held, id)
	}
}

// nextWake bounds the loop's poll: at most wait, and no later than the
// first held record falls due. It also reports whether records are pending
// (async.go), whose results wake the poll.
func (r *runner) nextWake(wait time.Duration) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.held {
		if d := time.Until(h.due); d < wait {
			wait = max(d, time.Millisecond)
		}
	}
	return wait, r.pending() > 0
}

// holdWaiting makes sure no task keeps records it could process: it
// processes what each active task buffered and can process now (a record
// that became due, or one left behind while the task waited for a lagging
// input or was busy), holds back what is not due, and pauses busy tasks
// (busy.go). Records reach a task's buffer, and become processable, by
// other paths than the poll, which process follows with holdBack: records
// polled while the task restored, processed once it is restored; enforced
// processing (enforceWaiting); results posted by other goroutines
// (runPosted); a woken task whose records were held back again by a
// lagging input. Without this, a record one of them left buffered would
// wait for a record of another partition of its task to be polled, which
// may never come (seen as examples/reversals' retries stalling under load).
// Called with mu held, once per loop.
func (r *runner) holdWaiting() error {
	r.sweep = r.sweep[:0]
	for _, t := range r.tasks {
		r.sweep = append(r.sweep, t)
		if t.Buffered() > 0 && !t.Waiting() && !t.Busy() {
			if err := r.processWith(t, t.ProcessAll); err != nil {
				return err
			}
		}
	}
	r.holdBack(r.sweep)
	r.pauseBusy(r.sweep)
	return nil
}
