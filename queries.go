package strata

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
)

// Interactive queries (package query) read the stores of a running App.
//
// A task's stores, its share of the record cache and its Pebble write buffer
// belong to the worker running it, whose poll loop holds the worker's mu
// while it processes. A query takes that lock for one bounded step, one Get
// or one page of a scan (query.PageSize entries), and releases it: it
// holds processing off for that step only, and sees everything the task has
// processed, the writes still in the record cache included, as the task's
// next read would. Under exactly-once that includes what the open
// transaction wrote, which an abort rolls back (the task's state is then
// restored from its changelogs, and reads fail with ErrRebalancing until it
// is).
//
// Each instance keeps an index of which of its workers holds which task,
// active (restoring or running) or standby, updated where tasks open and
// close; a query looks its task up there, then checks, under the worker's
// lock, that the task is still there and restored. Global stores are read
// through read-only views of the global task's database, one per store,
// each used under a lock of its own.

// QuerySource makes the App a query.Source: package query's typed handles
// read its stores. Call the functions of package query rather than this.
func (a *App) QuerySource() iq.Source { return (*appSource)(a) }

// appSource is the App as the source of queries.
type appSource App

// instanceQueries is what an instance keeps for queries.
type instanceQueries struct {
	cfg *Config
	top *engine.Topology

	// tasks says which worker holds each task open on this instance:
	// a snapshot, replaced (under mu) when a task opens or closes, so
	// that queries read it without a lock.
	tasks atomic.Pointer[taskIndex]

	mu sync.RWMutex
	// md is the map of instances of the latest assignment.
	md iq.Metadata
	// partitions are the partition counts of the topology's source
	// topics, set before any worker runs.
	partitions map[string]int

	// globalMu guards the views of global stores, and serializes their
	// use: a store's scratch buffers serve one reader at a time.
	globalMu    sync.Mutex
	global      *globalThread
	globalViews map[string]engine.Store
	closed      bool
}

// taskIndex maps each task open on an instance, active (restoring or
// running) or standby, to the worker holding it.
type taskIndex struct {
	active, standby map[engine.TaskID]*runner
}

func newInstanceQueries(a *App, global *globalThread) *instanceQueries {
	q := &instanceQueries{
		cfg:         &a.cfg,
		top:         a.top,
		md:          iq.Metadata{Generation: -1, Self: -1},
		global:      global,
		globalViews: map[string]engine.Store{},
	}
	q.tasks.Store(&taskIndex{active: map[engine.TaskID]*runner{}, standby: map[engine.TaskID]*runner{}})
	return q
}

// setPartitions records the partition counts of the source topics.
func (q *instanceQueries) setPartitions(counts map[string]int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.partitions = maps.Clone(counts)
}

// setInstances keeps the map of instances an assignment carried, unless a
// later one is in already: every worker of the instance gets one.
func (q *instanceQueries) setInstances(md iq.Metadata) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if md.Generation >= q.md.Generation {
		q.md = md
	}
}

// task records that worker r holds task id (active, or standby), or, with
// holds false, that it no longer does.
func (q *instanceQueries) task(id engine.TaskID, r *runner, standby, holds bool) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	old := q.tasks.Load()
	idx := &taskIndex{active: old.active, standby: old.standby}
	m := &idx.active
	if standby {
		m = &idx.standby
	}
	switch {
	case holds && (*m)[id] != r:
		*m = maps.Clone(*m)
		(*m)[id] = r
	case !holds && (*m)[id] == r && r != nil:
		*m = maps.Clone(*m)
		delete(*m, id)
	default:
		return
	}
	q.tasks.Store(idx)
}

// close closes the views of global stores: the global task closes next.
func (q *instanceQueries) close() error {
	if q == nil {
		return nil
	}
	q.globalMu.Lock()
	defer q.globalMu.Unlock()
	q.closed = true
	var errs []error
	for _, v := range q.globalViews {
		errs = append(errs, v.Close())
	}
	clear(q.globalViews)
	return errors.Join(errs...)
}

func (s *appSource) Topology() *engine.Topology { return s.top }

func (s *appSource) ApplicationID() string { return s.cfg.ApplicationID }

// queries returns the running instance's query state.
func (s *appSource) queries(store string) (*instanceQueries, error) {
	if q := s.live.Load(); q != nil {
		return q, nil
	}
	return nil, fmt.Errorf("store %q: the app %w", store, iq.ErrNotRunning)
}

func (s *appSource) Partitions(store *iq.Store) (int, error) {
	q, err := s.queries(store.Name)
	if err != nil {
		return 0, err
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	return iq.Partitions(store, func(topic string) (int, bool) {
		n, ok := q.partitions[topic]
		return n, ok
	})
}

func (s *appSource) Metadata() (iq.Metadata, error) {
	q, err := s.queries("")
	if err != nil {
		return iq.Metadata{}, err
	}
	q.mu.RLock()
	md := q.md
	q.mu.RUnlock()
	if len(md.Instances) == 0 {
		// No assignment yet, or a view: this instance alone.
		md.Instances = []iq.Instance{{ID: s.cfg.InstanceID, Server: s.cfg.ApplicationServer}}
	}
	md.Self = slices.IndexFunc(md.Instances, func(in iq.Instance) bool { return in.ID == s.cfg.InstanceID })
	return md, nil
}

func (s *appSource) Acquire(ctx context.Context, store *iq.Store, p int32, standby *iq.Standby) (engine.Store, iq.Lease, error) {
	q, err := s.queries(store.Name)
	if err != nil {
		return nil, iq.Lease{}, err
	}
	if store.Tasks == nil {
		return q.acquireGlobal(store.Name, p)
	}
	id := store.Task(p)
	idx := q.tasks.Load()
	if r := idx.active[id]; r != nil {
		st, lease, err := r.acquireActive(ctx, id, store.Name)
		if !errors.Is(err, errNotHere) {
			return st, lease, err
		}
	}
	if r := idx.standby[id]; standby != nil && r != nil {
		st, lease, err := r.acquireStandby(ctx, id, store.Name, standby.MaxLag)
		if !errors.Is(err, errNotHere) {
			return st, lease, err
		}
	}
	return nil, iq.Lease{}, q.elsewhere(store.Name, id)
}

// errNotHere is what a worker answers for a task it no longer holds.
var errNotHere = errors.New("task not here")

// acquireActive returns the store of task id, if the worker runs it, with
// the worker's lock held. It returns errNotHere if the worker no longer
// holds the task.
func (r *runner) acquireActive(ctx context.Context, id engine.TaskID, store string) (engine.Store, iq.Lease, error) {
	if err := lockCtx(ctx, &r.mu); err != nil {
		return nil, iq.Lease{}, fmt.Errorf("store %q partition %d: wait for its task: %w", store, id.Partition, err)
	}
	if t := r.tasks[id]; t != nil && !r.stopped {
		return t.StoreByName(store), iq.Locked(&r.mu), nil
	}
	restoring := r.restoring[id] != nil && !r.stopped
	r.mu.Unlock()
	if restoring {
		return nil, iq.Lease{}, fmt.Errorf("store %q partition %d: task %s is restoring its state: %w", store, id.Partition, id, iq.ErrRebalancing)
	}
	return nil, iq.Lease{}, errNotHere
}

// acquireStandby returns the store of standby task id, with the worker's
// lock held, if the worker has it and it lags at most maxLag records. It
// returns errNotHere otherwise.
func (r *runner) acquireStandby(ctx context.Context, id engine.TaskID, store string, maxLag int64) (engine.Store, iq.Lease, error) {
	if err := lockCtx(ctx, &r.mu); err != nil {
		return nil, iq.Lease{}, fmt.Errorf("store %q partition %d: wait for its standby: %w", store, id.Partition, err)
	}
	s := r.standbyStore(id, store)
	if s != nil && !r.stopped {
		if lag, ok := s.lag(); ok && lag <= maxLag {
			return s.store, iq.Locked(&r.mu), nil
		}
	}
	r.mu.Unlock()
	return nil, iq.Lease{}, errNotHere
}

// standbyStore returns the store of standby task id, if the worker keeps
// one. Called with mu held.
func (r *runner) standbyStore(id engine.TaskID, store string) *standbyStore {
	st := r.standby.tasks[id]
	if st == nil {
		return nil
	}
	return st.stores[engine.ChangelogTopic(r.cfg.ApplicationID, store)]
}

// lag is how many changelog records the standby store is behind the end
// its consumer last saw, if it has seen one.
func (s *standbyStore) lag() (int64, bool) {
	if s.end < 0 {
		return 0, false
	}
	return max(s.end-s.next, 0), true
}

// elsewhere is the error of a query for task id that this instance does
// not hold: ErrNotLocal naming the instance that runs it, or ErrRebalancing
// when none does (the task is moving).
func (q *instanceQueries) elsewhere(store string, id engine.TaskID) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	for _, in := range q.md.Instances {
		if in.ID != q.cfg.InstanceID && slices.Contains(in.Active, id) {
			return fmt.Errorf("store %q partition %d: instance %q (server %q) runs it: %w", store, id.Partition, in.ID, in.Server, iq.ErrNotLocal)
		}
	}
	return fmt.Errorf("store %q partition %d: no instance runs it now: %w", store, id.Partition, iq.ErrRebalancing)
}

// acquireGlobal returns a view of the global store, with the views' lock
// held.
func (q *instanceQueries) acquireGlobal(store string, p int32) (engine.Store, iq.Lease, error) {
	if p != 0 {
		return nil, iq.Lease{}, fmt.Errorf("global store %q has one partition, 0, not %d: %w", store, p, iq.ErrNotLocal)
	}
	q.globalMu.Lock()
	v, err := q.globalView(store)
	if err != nil {
		q.globalMu.Unlock()
		return nil, iq.Lease{}, err
	}
	return v, iq.Locked(&q.globalMu), nil
}

// globalView returns the view of the global store, made on first use.
// Called with globalMu held.
func (q *instanceQueries) globalView(store string) (engine.Store, error) {
	if q.closed || q.global == nil {
		return nil, fmt.Errorf("store %q: the app %w", store, iq.ErrNotRunning)
	}
	if v := q.globalViews[store]; v != nil {
		return v, nil
	}
	gs, ok := q.global.task.StoreByName(store).(engine.GlobalStore)
	if !ok {
		return nil, fmt.Errorf("%w %q: not a global store this instance holds", iq.ErrUnknownStore, store)
	}
	v, err := gs.NewView()
	if err != nil {
		return nil, fmt.Errorf("store %q: %w", store, err)
	}
	q.globalViews[store] = v
	return v, nil
}

func (s *appSource) Local(store *iq.Store, standby *iq.Standby) ([]int32, error) {
	q, err := s.queries(store.Name)
	if err != nil {
		return nil, err
	}
	if store.Tasks == nil {
		return []int32{0}, nil
	}
	idx := q.tasks.Load()
	var parts []int32
	for id := range idx.active {
		if id.Subtopology == store.Tasks.ID {
			parts = append(parts, id.Partition)
		}
	}
	if standby != nil {
		for id, r := range idx.standby {
			if id.Subtopology == store.Tasks.ID && !slices.Contains(parts, id.Partition) && r.standbyLag(id, store.Name) <= standby.MaxLag {
				parts = append(parts, id.Partition)
			}
		}
	}
	slices.Sort(parts)
	return parts, nil
}

// standbyLag is the lag of the worker's standby of task id's store; the
// largest int64 when unknown.
func (r *runner) standbyLag(id engine.TaskID, store string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.standbyStore(id, store); s != nil {
		if lag, ok := s.lag(); ok {
			return lag
		}
	}
	return 1<<63 - 1
}

// lockCtx locks mu, waiting at most until ctx ends; it returns ctx's error
// then, with mu not held.
func lockCtx(ctx context.Context, mu *sync.Mutex) error {
	if mu.TryLock() {
		return nil
	}
	if ctx.Done() == nil {
		mu.Lock()
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	got, gaveUp := make(chan struct{}), make(chan struct{})
	go func() {
		mu.Lock()
		select {
		case got <- struct{}{}:
		case <-gaveUp:
			mu.Unlock()
		}
	}()
	select {
	case <-got:
		return nil
	case <-ctx.Done():
		close(gaveUp)
		return ctx.Err()
	}
}
