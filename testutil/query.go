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

func (s *driverSource) Partitions(store *iq.Store) (int, error) {
	d := (*Driver)(s)
	return iq.Partitions(store, func(topic string) (int, bool) { return d.topic(topic).partitions, true })
}

func (s *driverSource) Acquire(_ context.Context, store *iq.Store, p int32, _ *iq.Standby) (engine.Store, iq.Lease, error) {
	if s.closed {
		return nil, iq.Lease{}, fmt.Errorf("store %q: the driver is closed: %w", store.Name, iq.ErrNotRunning)
	}
	if store.Tasks == nil {
		if s.global == nil || p != 0 {
			return nil, iq.Lease{}, fmt.Errorf("global store %q has no partition %d: %w", store.Name, p, iq.ErrNotLocal)
		}
		return s.global.StoreByName(store.Name), iq.Lease{}, nil
	}
	t := s.tasks[store.Task(p)]
	if t == nil {
		return nil, iq.Lease{}, fmt.Errorf("store %q has no partition %d: %w", store.Name, p, iq.ErrNotLocal)
	}
	return t.StoreByName(store.Name), iq.Lease{}, nil
}

func (s *driverSource) Local(store *iq.Store, _ *iq.Standby) ([]int32, error) {
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
