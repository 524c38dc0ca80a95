package strata

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

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

	mu sync.RWMutex
	// md is the map of instances of the latest assignment.
	md iq.Metadata
	// active and standby map each task open on this instance to the
	// worker holding it.
	active, standby map[engine.TaskID]*runner
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

func newInstanceQueries(a *App, global *globalThread) *instanceQueries {
	return &instanceQueries{
		cfg:         &a.cfg,
		top:         a.top,
		md:          iq.Metadata{Generation: -1, Self: -1},
		active:      map[engine.TaskID]*runner{},
		standby:     map[engine.TaskID]*runner{},
		global:      global,
		globalViews: map[string]engine.Store{},
	}
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
	m := q.active
	if standby {
		m = q.standby
	}
	switch {
	case holds:
		m[id] = r
	case m[id] == r:
		delete(m, id)
	}
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

func (s *appSource) Partitions(store string) (int, error) {
	q, err := s.queries(store)
	if err != nil {
		return 0, err
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	return iq.Partitions(s.top, store, func(topic string) (int, bool) {
		n, ok := q.partitions[topic]
		return n, ok
	})
}

func (s *appSource) Sample(store string) engine.Store {
	if def := s.top.Graph.Store(store); def != nil {
		return def.New()
	}
	return nil
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

func (s *appSource) Read(ctx context.Context, store string, p int32, standby *iq.Standby, fn func(engine.Store) error) error {
	q, err := s.queries(store)
	if err != nil {
		return err
	}
	def := s.top.Graph.Store(store)
	if def == nil {
		return fmt.Errorf("%w %q", iq.ErrUnknownStore, store)
	}
	if def.Global {
		return q.readGlobal(store, p, fn)
	}
	st := iq.StoreTasks(s.top, store)
	if st == nil {
		return fmt.Errorf("%w %q: no processor uses it", iq.ErrUnknownStore, store)
	}
	id := engine.TaskID{Subtopology: st.ID, Partition: p}
	q.mu.RLock()
	active, replica := q.active[id], q.standby[id]
	q.mu.RUnlock()
	if active != nil {
		err := active.readActive(ctx, id, store, fn)
		if !errors.Is(err, errNotHere) {
			return err
		}
	}
	if standby != nil && replica != nil {
		err := replica.readStandby(ctx, id, store, standby.MaxLag, fn)
		if !errors.Is(err, errNotHere) {
			return err
		}
	}
	return q.elsewhere(store, id)
}

// errNotHere is what a worker answers for a task it no longer holds.
var errNotHere = errors.New("task not here")

// readActive runs fn on the store of task id, if the worker runs it. It
// returns errNotHere if the worker no longer holds the task.
func (r *runner) readActive(ctx context.Context, id engine.TaskID, store string, fn func(engine.Store) error) error {
	if err := lockCtx(ctx, &r.mu); err != nil {
		return fmt.Errorf("store %q partition %d: wait for its task: %w", store, id.Partition, err)
	}
	defer r.mu.Unlock()
	if t := r.tasks[id]; t != nil && !r.stopped {
		return fn(t.StoreByName(store))
	}
	if r.restoring[id] != nil && !r.stopped {
		return fmt.Errorf("store %q partition %d: task %s is restoring its state: %w", store, id.Partition, id, iq.ErrRebalancing)
	}
	return errNotHere
}

// readStandby runs fn on the store of standby task id, if the worker has it
// and it lags at most maxLag records. It returns errNotHere otherwise.
func (r *runner) readStandby(ctx context.Context, id engine.TaskID, store string, maxLag int64, fn func(engine.Store) error) error {
	if err := lockCtx(ctx, &r.mu); err != nil {
		return fmt.Errorf("store %q partition %d: wait for its standby: %w", store, id.Partition, err)
	}
	defer r.mu.Unlock()
	s := r.standbyStore(id, store)
	if s == nil || r.stopped {
		return errNotHere
	}
	if lag, ok := s.lag(); !ok || lag > maxLag {
		return errNotHere
	}
	return fn(s.store)
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

// readGlobal runs fn on a view of the global store.
func (q *instanceQueries) readGlobal(store string, p int32, fn func(engine.Store) error) error {
	if p != 0 {
		return fmt.Errorf("global store %q has one partition, 0, not %d: %w", store, p, iq.ErrNotLocal)
	}
	q.globalMu.Lock()
	defer q.globalMu.Unlock()
	if q.closed || q.global == nil {
		return fmt.Errorf("store %q: the app %w", store, iq.ErrNotRunning)
	}
	v := q.globalViews[store]
	if v == nil {
		gs, ok := q.global.task.StoreByName(store).(engine.GlobalStore)
		if !ok {
			return fmt.Errorf("%w %q: not a global store this instance holds", iq.ErrUnknownStore, store)
		}
		var err error
		if v, err = gs.NewView(); err != nil {
			return fmt.Errorf("store %q: %w", store, err)
		}
		q.globalViews[store] = v
	}
	return fn(v)
}

func (s *appSource) Local(store string, standby *iq.Standby) ([]int32, error) {
	q, err := s.queries(store)
	if err != nil {
		return nil, err
	}
	def := s.top.Graph.Store(store)
	if def == nil {
		return nil, fmt.Errorf("%w %q", iq.ErrUnknownStore, store)
	}
	if def.Global {
		return []int32{0}, nil
	}
	st := iq.StoreTasks(s.top, store)
	if st == nil {
		return nil, fmt.Errorf("%w %q: no processor uses it", iq.ErrUnknownStore, store)
	}
	q.mu.RLock()
	var parts []int32
	replicas := map[int32]*runner{}
	for id := range q.active {
		if id.Subtopology == st.ID {
			parts = append(parts, id.Partition)
		}
	}
	if standby != nil {
		for id, r := range q.standby {
			if id.Subtopology == st.ID && !slices.Contains(parts, id.Partition) {
				replicas[id.Partition] = r
			}
		}
	}
	q.mu.RUnlock()
	for p, r := range replicas {
		if r.standbyLag(engine.TaskID{Subtopology: st.ID, Partition: p}, store) <= standby.MaxLag {
			parts = append(parts, p)
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
