package strata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
)

// onAssigned opens a task for every newly assigned partition. A task whose
// stores have something to restore starts restoring, its partitions paused:
// the poll loop restores it between the other tasks' work (restoreSome) and
// activates it once restored, so nothing is processed against incomplete
// state and a long restoration holds back neither the worker's other tasks
// nor the group's rebalances.
func (r *runner) onAssigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	r.group.Store(cl)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.syncStandbys()
	r.openAssigned(ctx, assigned)
	r.inRebalance = false
	r.updateState()
	r.app.tel.assigned(r.stats)
	r.log.Info("partitions assigned", "partitions", assigned, "tasks", len(r.tasks), "restoring", len(r.restoring))
}

// openAssigned opens the tasks of newly assigned partitions and routes the
// partitions to them. A failure is kept in r.fatal for the poll loop
// (openError).
// Called with mu held.
func (r *runner) openAssigned(ctx context.Context, assigned map[string][]int32) {
	var opened []*engine.Task
	// A restoring task's partitions are not fetched until it is
	// restored: nothing of them is polled, so nothing of them is
	// committed meanwhile. A partition stays paused through its
	// revocation, so one assigned again to a task that does not restore
	// is resumed.
	pause, resume := map[string][]int32{}, map[string][]int32{}
	for topic, parts := range assigned {
		st, ok := r.app.top.TopicSubtopology[topic]
		if !ok {
			continue
		}
		for _, p := range parts {
			id := engine.TaskID{Subtopology: st, Partition: p}
			if rs := r.restoring[id]; rs != nil {
				r.inputs[topicPartition{topic, p}] = taskInput{task: rs.task, input: rs.task.Input(topic), restoring: true}
				pause[topic] = append(pause[topic], p)
				continue
			}
			t := r.tasks[id]
			if t == nil {
				var (
					rs  *restoration
					err error
				)
				// A standby of the task here becomes the active
				// task: its checkpoint leaves only the tail to
				// restore. (syncStandbys closes it already, unless
				// the assignment also lists it as standby.)
				if _, ok := r.standby.tasks[id]; ok {
					err = r.closeStandby(id, true)
				}
				if err == nil {
					rs, err = r.openTask(ctx, id)
				}
				if err == nil && len(rs.active) == 0 {
					t, err = rs.task, r.initTask(rs.task)
				}
				if err != nil {
					if r.fatal == nil {
						r.fatal = openError(err)
					}
					continue
				}
				r.setActive(id, true)
				if t == nil {
					r.app.tel.opened(r.index, rs.task, taskRestoring)
					r.restoring[id] = rs
					r.inputs[topicPartition{topic, p}] = taskInput{task: rs.task, input: rs.task.Input(topic), restoring: true}
					pause[topic] = append(pause[topic], p)
					continue
				}
				r.tasks[id] = t
				r.app.tel.opened(r.index, t, taskRunning)
				opened = append(opened, t)
			}
			r.inputs[topicPartition{topic, p}] = taskInput{task: t, input: t.Input(topic)}
			resume[topic] = append(resume[topic], p)
		}
	}
	if cl := r.group.Load(); cl != nil {
		cl.ResumeFetchPartitions(resume)
		cl.PauseFetchPartitions(pause)
	}
	for topic, parts := range pause {
		for _, p := range parts {
			rs := r.restoring[engine.TaskID{Subtopology: r.app.top.TopicSubtopology[topic], Partition: p}]
			rs.paused[topic] = append(rs.paused[topic], p)
		}
	}
	r.restoringCount.Store(int32(len(r.restoring)))
	r.learnPositions(ctx, opened)
}

// activate makes restored tasks active: it initialises their processors
// and processes the records they buffered meanwhile. Called with mu held.
func (r *runner) activate(ctx context.Context, done []*restoration) error {
	var opened []*engine.Task
	defer func() { r.restoringCount.Store(int32(len(r.restoring))) }()
	for _, rs := range done {
		t := rs.task
		delete(r.restoring, t.ID)
		if err := r.initTask(t); err != nil {
			r.inst.dirs.unlock(t.ID)
			r.setActive(t.ID, false)
			return err
		}
		r.tasks[t.ID] = t
		r.app.tel.setState(r.index, t.ID, taskRunning)
		r.resumeRestored(rs)
		for tp, in := range r.inputs {
			if in.task == t {
				in.restoring = false
				r.inputs[tp] = in
			}
		}
		opened = append(opened, t)
		r.log.Info("task restored", "task", t.ID.String(), "took", time.Since(rs.began))
	}
	r.learnPositions(ctx, opened)
	for _, t := range opened {
		if err := r.processWith(t, t.ProcessAll); err != nil {
			return err
		}
	}
	return nil
}

// initTask initialises a restored task's processors; on failure the task is
// closed and its directory released.
func (r *runner) initTask(t *engine.Task) error {
	if err := t.Init(); err != nil {
		err = errors.Join(err, t.Close())
		r.inst.dirs.unlock(t.ID)
		return fmt.Errorf("strata: open task %s: %w", t.ID, err)
	}
	return nil
}

// openTask creates a task, opens its stores and plans their restoration,
// which has begun when it returns. Local state that cannot be trusted
// (corrupt.go), for instance a checkpoint that does not fit the changelog
// (the topic was recreated), is wiped and restored from the beginning.
func (r *runner) openTask(ctx context.Context, id engine.TaskID) (*restoration, error) {
	if err := r.inst.dirs.lock(ctx, id); err != nil {
		return nil, fmt.Errorf("strata: open task %s: wait for its state directory: %w", id, err)
	}
	t, err := r.createTask(id)
	if err != nil {
		r.inst.dirs.unlock(id)
		return nil, err
	}
	var rs *restoration
	checkpoint, err := r.openState(t)
	if err == nil {
		rs, err = r.planRestore(ctx, t, checkpoint)
	}
	if errors.Is(err, errUntrusted) || errors.Is(err, errStaleCheckpoint) {
		if err = r.app.wipeUntrusted(r.taskLog(t), t, err); err == nil {
			if t, err = r.createTask(id); err == nil {
				rs, err = r.restoreInto(ctx, t, map[string]int64{})
			}
		}
	}
	if err != nil {
		if t != nil {
			err = errors.Join(err, t.Close())
		}
		r.inst.dirs.unlock(id)
		return nil, fmt.Errorf("strata: open task %s: %w", id, err)
	}
	return rs, nil
}

func (r *runner) createTask(id engine.TaskID) (*engine.Task, error) {
	return r.newTask(id, r.cache)
}

// newTask creates task id with cache as its record cache: the worker's for
// active tasks, none for standby tasks, which only restore.
func (r *runner) newTask(id engine.TaskID, cache *engine.RecordCache) (*engine.Task, error) {
	st := r.app.top.Subtopologies[id.Subtopology]
	cfg := engine.TaskConfig{
		ApplicationID:     r.cfg.ApplicationID,
		Collector:         (*producer)(r),
		Logger:            r.log,
		OnBadRecord:       engine.BadRecordPolicy(r.cfg.OnBadRecord),
		OnProcessingError: engine.BadRecordPolicy(r.cfg.OnProcessingError),
		OnProductionError: engine.BadRecordPolicy(r.cfg.OnProductionError),
		DeadLetterTopic:   r.cfg.DeadLetterTopic,
		Now:               time.Now,
		State:             r.stateConfig(),
		Cache:             cache,
		Global:            r.global.globalTask(),
		Meter:             r.app.meter,
		Context:           r.runCtx,
		RebalanceTimeout:  r.rebalanceTimeout,
		Observer:          r.app.tel.observer(r.app.tel.task(id)),
		OnPost:            r.posted,
		InFlight:          r.app.inFlight,
	}
	if r.app.tracer != nil {
		cfg.Tracer, cfg.TraceRatio = r.app.tracer, r.cfg.TraceSampleRatio
	}
	return engine.NewTask(r.app.top, st, id.Partition, cfg)
}

func (r *runner) restoreInto(ctx context.Context, t *engine.Task, checkpoint map[string]int64) (*restoration, error) {
	if err := t.InitStores(); err != nil {
		return nil, err
	}
	return r.planRestore(ctx, t, checkpoint)
}

// closeTasks closes the tasks that read any of parts (all tasks when parts
// is nil) and forgets them. With clean set, their state was just committed:
// it is made durable and checkpointed, so that a task coming back restores
// only the changelog's tail. Called with mu held.
func (r *runner) closeTasks(ctx context.Context, parts map[string][]int32, clean bool) error {
	errs := []error{r.closeRestoring(parts, clean)}
	var closing []*engine.Task
	for _, t := range r.tasks {
		if parts == nil || readsAny(t, parts) {
			closing = append(closing, t)
		}
	}
	if len(closing) == 0 {
		return errors.Join(errs...)
	}
	if clean {
		errs = append(errs, r.checkpoint(ctx, closing))
	}
	for _, t := range closing {
		r.dropHeld(t.ID)
		r.dropBusy(t.ID)
		errs = append(errs, r.closeTask(t))
		r.inst.dirs.unlock(t.ID)
		r.setActive(t.ID, false)
		r.app.tel.closed(r.index, t.ID)
		delete(r.tasks, t.ID)
		for _, in := range t.Inputs() {
			tp := topicPartition{in.Topic, in.Partition}
			delete(r.inputs, tp)
			delete(r.committed, tp)
		}
	}
	return errors.Join(errs...)
}

// checkpoint writes, for each task with persistent logged stores, the
// changelog offsets its local state covers. Output was flushed by the
// commit before, so each changelog partition's end is this task's last
// write.
func (r *runner) checkpoint(ctx context.Context, tasks []*engine.Task) error {
	var errs []error
	for _, t := range tasks {
		var ends kadm.ListedOffsets
		if topics := changelogsOf(r, t); len(topics) > 0 {
			var err error
			if ends, err = r.listOffsets(ctx, r.adm.ListEndOffsets, topics, t.ID.Partition); err != nil {
				errs = append(errs, fmt.Errorf("strata: checkpoint task %s: %w", t.ID, err))
				continue
			}
		}
		offsets := map[string]int64{}
		for _, s := range t.Stores() {
			def := r.app.top.Graph.Store(s.Name())
			if def.SourceTopic != "" && def.Persistent {
				// The state covers the source up to what the task
				// has processed, and so committed.
				if off, ok := t.CommittableOffsets()[def.SourceTopic]; ok {
					offsets[def.SourceTopic] = off
				}
				continue
			}
			if !def.Logged || !def.Persistent {
				continue
			}
			topic := t.Changelog(s.Name())
			lo, ok := ends.Lookup(topic, t.ID.Partition)
			if !ok || lo.Err != nil {
				errs = append(errs, fmt.Errorf("strata: checkpoint task %s: end of %q unknown: %v", t.ID, topic, lo.Err))
				continue
			}
			offsets[topic] = lo.Offset
		}
		if len(offsets) == 0 {
			continue
		}
		errs = append(errs, checkpointState(t, offsets))
	}
	return errors.Join(errs...)
}

// closeRestoring closes the tasks still restoring that read any of parts
// (all of them when parts is nil). With clean set, each is checkpointed at
// the changelog offsets it has restored, which it holds: if it comes back,
// it restores only the rest. Called with mu held.
func (r *runner) closeRestoring(parts map[string][]int32, clean bool) error {
	var errs []error
	for id, rs := range r.restoring {
		t := rs.task
		if parts != nil && !readsAny(t, parts) {
			continue
		}
		r.stopRestore(rs)
		if offsets := rs.restoredOffsets(); clean && len(offsets) > 0 && t.StateDir() != "" {
			errs = append(errs, checkpointState(t, offsets))
		}
		errs = append(errs, r.closeTask(t))
		r.inst.dirs.unlock(id)
		r.setActive(id, false)
		r.app.tel.closed(r.index, id)
		// A partition stays paused through its revocation.
		r.resumeRestored(rs)
		delete(r.restoring, id)
		for tp, in := range r.inputs {
			if in.task == t {
				delete(r.inputs, tp)
			}
		}
	}
	r.restoringCount.Store(int32(len(r.restoring)))
	return errors.Join(errs...)
}

// changelogsOf lists the changelogs of t's persistent logged stores.
func changelogsOf(r *runner, t *engine.Task) []string {
	var topics []string
	for _, s := range t.Stores() {
		if def := r.app.top.Graph.Store(s.Name()); def.Logged && def.Persistent {
			topics = append(topics, t.Changelog(s.Name()))
		}
	}
	return topics
}

func readsAny(t *engine.Task, parts map[string][]int32) bool {
	for _, in := range t.Inputs() {
		for _, p := range parts[in.Topic] {
			if p == in.Partition {
				return true
			}
		}
	}
	return false
}

func (r *runner) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	r.group.Store(cl)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startRebalance()
	r.stats.rebalancing()
	if len(revoked) == 0 {
		// A cooperative rebalance began and nothing of ours moves:
		// no commit, and no reset of the transaction session.
		return
	}
	if r.eos {
		r.rebalanced.Store(true)
	}
	if len(r.tasks) == 0 && len(r.restoring) == 0 {
		return
	}
	clean := !r.failed && !r.crashing()
	// Under exactly-once no transaction is open here: the loop commits
	// before it lets a rebalance proceed. Committing from this callback
	// would deadlock the session, so state that is somehow uncommitted is
	// closed without a checkpoint instead, to be wiped and restored.
	if r.txnOpen() {
		clean = false
	} else if clean {
		if err := r.commit(); err != nil {
			// The new owner reprocesses from the last commit: output
			// may repeat, none is lost.
			r.log.Error("commit on revocation", "err", err)
			clean = false
		}
	}
	if err := r.closeTasks(ctx, revoked, clean); err != nil {
		r.log.Error("close revoked tasks", "err", err)
	}
	r.log.Info("partitions revoked", "partitions", revoked, "tasks", len(r.tasks), "restoring", len(r.restoring))
}

func (r *runner) onLost(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	r.group.Store(cl)
	r.stats.rebalancing()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startRebalance()
	if r.eos {
		r.rebalanced.Store(true)
	}
	if err := r.closeTasks(ctx, lost, false); err != nil {
		r.log.Error("close lost tasks", "err", err)
	}
	r.log.Warn("partitions lost", "partitions", lost, "tasks", len(r.tasks))
}

// stateConfig tells tasks where persistent stores live; empty when the app
// has none, and so holds no state directory.
func (r *runner) stateConfig() engine.StateConfig {
	if r.state == nil {
		return engine.StateConfig{}
	}
	return engine.StateConfig{Dir: r.state.path, Open: r.storage.open}
}

// openError classifies a failure to open a task: one the brokers caused
// (they did not answer in time) resets the worker, which opens its tasks
// again once they do; anything else stops it.
func openError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || kgo.IsRetryableBrokerErr(err) {
		return &resetError{err}
	}
	return err
}
