package testutil

import (
	"context"
	"fmt"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
)

// driverInstance is the instance ID the driver reports in query metadata.
const driverInstance = "testutil"

// QuerySource makes the driver a query.Source: package query's typed
// handles (query.KeyValue, query.Window, query.Session) read its stores as
// they read a running App's, so that a topology's queries can be tested in
// memory. The driver is one instance running every partition; like the
// driver, queries are not safe for use concurrent with it: make them between
// pipes, from the test's goroutine.
func (d *Driver) QuerySource() iq.Source { return (*driverSource)(d) }

// driverSource is the driver as the source of queries.
type driverSource Driver

func (s *driverSource) Topology() *engine.Topology { return s.top }

func (s *driverSource) ApplicationID() string { return s.cfg.ApplicationID }

func (s *driverSource) Partitions(store string) (int, error) {
	d := (*Driver)(s)
	return iq.Partitions(s.top, store, func(topic string) (int, bool) { return d.topic(topic).partitions, true })
}

func (s *driverSource) Read(_ context.Context, store string, p int32, _ *iq.Standby, fn func(engine.Store) error) error {
	if s.closed {
		return fmt.Errorf("store %q: the driver is closed: %w", store, iq.ErrNotRunning)
	}
	def := s.top.Graph.Store(store)
	if def == nil {
		return fmt.Errorf("%w %q", iq.ErrUnknownStore, store)
	}
	if def.Global {
		if s.global == nil || p != 0 {
			return fmt.Errorf("global store %q has no partition %d: %w", store, p, iq.ErrNotLocal)
		}
		return fn(s.global.StoreByName(store))
	}
	st := iq.StoreTasks(s.top, store)
	if st == nil {
		return fmt.Errorf("%w %q: no processor uses it", iq.ErrUnknownStore, store)
	}
	t := s.tasks[engine.TaskID{Subtopology: st.ID, Partition: p}]
	if t == nil {
		return fmt.Errorf("store %q has no partition %d: %w", store, p, iq.ErrNotLocal)
	}
	return fn(t.StoreByName(store))
}

func (s *driverSource) Local(store string, _ *iq.Standby) ([]int32, error) {
	n, err := s.Partitions(store)
	if err != nil {
		return nil, err
	}
	parts := make([]int32, n)
	for i := range parts {
		parts[i] = int32(i)
	}
	return parts, nil
}

func (s *driverSource) Metadata() (iq.Metadata, error) {
	ids := make([]engine.TaskID, 0, len(s.order))
	for _, t := range s.order {
		ids = append(ids, t.ID)
	}
	return iq.Metadata{Generation: 0, Self: 0, Instances: []iq.Instance{{ID: driverInstance, Active: ids}}}, nil
}

func (s *driverSource) Sample(store string) engine.Store {
	if def := s.top.Graph.Store(store); def != nil {
		return def.New()
	}
	return nil
}
