package strata

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/strata-go/strata/internal/engine"
)

// An App runs Config.Workers workers, Kafka Streams' stream threads. Each
// worker is a runner (app.go): a full member of the consumer group with its
// own client, transactional session, tasks and share of the record cache,
// polling on its own goroutine. What the workers of one instance share is an
// instance: the lock on the state directory, the Pebble storage and its block
// cache, the per-task directory locks, the global stores and their thread,
// the App's metrics and its crash hook.

// instance is what the workers of one App share.
type instance struct {
	// state is the locked application state directory; nil when the
	// topology has no persistent store.
	state   *stateDir
	storage *storage
	dirs    taskDirs
	// global keeps the global stores up to date; nil without any.
	global *globalThread
	// stop is how this instance and the application's others stop one
	// another (UncaughtErrorAction StopApplication).
	stop appStop
	// queries is what interactive queries read (queries.go).
	queries *instanceQueries
	// partitions records a change of a source topic's partition count
	// (partitions.go).
	partitions partitionWatch
	// joining counts the workers waiting for an assignment (static.go).
	joining atomic.Int32
}

// openInstance takes what the workers share, and restores the global
// stores before any worker exists.
func openInstance(ctx context.Context, a *App) (*instance, error) {
	in := &instance{dirs: taskDirs{held: map[engine.TaskID]chan struct{}{}}}
	in.stop.told = make(chan struct{})
	// Only apps with persistent stores use, and so lock, a state
	// directory: stateless instances can share a machine's default.
	if hasPersistentStores(a.top) {
		var err error
		if in.state, err = lockStateDir(filepath.Join(a.cfg.StateDir, a.cfg.ApplicationID)); err != nil {
			return nil, err
		}
	}
	in.storage = newStorage(a.cfg.pebbleMemory())
	var state engine.StateConfig
	if in.state != nil {
		state = engine.StateConfig{Dir: in.state.path, Open: in.storage.openShared}
	}
	var err error
	if in.global, err = startGlobal(ctx, a, state, a.cfg.Logger.With("application", a.cfg.ApplicationID)); err != nil {
		return nil, errors.Join(err, in.close(false))
	}
	in.queries = newInstanceQueries(a, in.global)
	return in, nil
}

// close releases what openInstance took, once every worker stopped: the
// tasks, which read the global stores, are closed. With clean set, the
// global stores are checkpointed.
func (in *instance) close(clean bool) error {
	err := errors.Join(in.queries.close(), in.global.close(clean))
	in.storage.close()
	return errors.Join(err, in.state.unlock())
}

// taskDirs makes sure that at most one worker of an instance opens a task's
// state at a time. The balancer never gives a task to two members at once,
// but a member that lost its partitions (its session expired) may still be
// closing them when another worker of the same instance is assigned them;
// that worker waits here until the first one closed the task.
type taskDirs struct {
	mu sync.Mutex
	// held maps a task in use to a channel closed when it is released.
	held map[engine.TaskID]chan struct{}
}

// lock takes task id's directory, waiting until its holder releases it or
// ctx ends.
func (d *taskDirs) lock(ctx context.Context, id engine.TaskID) error {
	for {
		d.mu.Lock()
		released, busy := d.held[id]
		if !busy {
			d.held[id] = make(chan struct{})
			d.mu.Unlock()
			return nil
		}
		d.mu.Unlock()
		select {
		case <-released:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// tryLock takes task id's directory if no one holds it.
func (d *taskDirs) tryLock(id engine.TaskID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, busy := d.held[id]; busy {
		return false
	}
	d.held[id] = make(chan struct{})
	return true
}

// unlock releases task id's directory; its holder calls it once.
func (d *taskDirs) unlock(id engine.TaskID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if released, ok := d.held[id]; ok {
		close(released)
		delete(d.held, id)
	}
}

// transactionalID is worker index's transactional ID under exactly-once.
// Worker 0 keeps "<ApplicationID>-<InstanceID>", the ID of an instance with
// one worker, so that adding workers does not change it; worker i > 0 uses
// "<ApplicationID>-<InstanceID>-<i>". Each is stable across restarts with
// the same InstanceID and Workers, which is what fences a zombie.
func transactionalID(cfg *Config, index int) string {
	id := cfg.ApplicationID + "-" + cfg.InstanceID
	if index > 0 {
		id += "-" + strconv.Itoa(index)
	}
	return id
}

// runWorkers runs the workers until all stopped. The first error stops the
// others, which shut down cleanly, and is returned; the crash hook stops
// every worker on its own, so a crash cancels nothing. When the group says
// the application stops, every worker stops cleanly and the request's error
// is returned.
func runWorkers(ctx context.Context, in *instance, workers []*runner) error {
	in.stop.mu.Lock()
	in.stop.run = ctx
	in.stop.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in.stop.mu.Lock()
	in.stop.cancel = cancel
	in.stop.mu.Unlock()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, w := range workers {
		wg.Go(func() {
			err := w.run(ctx)
			if err == nil {
				return
			}
			once.Do(func() { first = err })
			w.app.state.set(PendingError)
			if !errors.Is(err, errCrashed) {
				cancel()
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = in.stop.stopped()
	}
	return first
}
