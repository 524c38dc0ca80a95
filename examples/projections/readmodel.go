package main

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/strata-go/strata/query"
)

// Side is one projection serving the read model: the query handles of its
// store, typed and over HTTP.
type Side struct {
	Projection Projection
	Store      *query.KeyValueStore[string, Booking]
	HTTP       http.Handler
}

// NewSide makes the query handles of projection p's store, run by src (a
// strata.App, or the test driver).
func NewSide(p Projection, src query.Source) (*Side, error) {
	store, err := query.KeyValue[string, Booking](src, StoreName)
	if err != nil {
		return nil, fmt.Errorf("projection %s: %w", p.Name, err)
	}
	h, err := query.NewHandler(src, query.HandlerConfig{
		Stores: []query.Route{query.ServeKeyValue[string, Booking](StoreName, query.StringKeys())},
	})
	if err != nil {
		return nil, fmt.Errorf("projection %s: %w", p.Name, err)
	}
	return &Side{Projection: p, Store: store, HTTP: h}, nil
}

// ReadModel is what the clients of the projection read: the side that
// serves it now, switched from one projection to another in a blue-green
// rebuild with no pause. It serves the interactive-query API of the
// side's store over HTTP (query.NewHandler):
//
//	GET /stores/bookings/get?key=B001
//	GET /stores/bookings/range
//
// and from Go (Get, All). It is safe for concurrent use.
type ReadModel struct {
	side atomic.Pointer[Side]
}

// NewReadModel returns a read model served by s.
func NewReadModel(s *Side) *ReadModel {
	m := &ReadModel{}
	m.side.Store(s)
	return m
}

// Switch makes s serve the read model and returns the side that served it.
func (m *ReadModel) Switch(s *Side) *Side { return m.side.Swap(s) }

// Serving is the side that serves the read model now.
func (m *ReadModel) Serving() *Side { return m.side.Load() }

// Get reads a booking's row.
func (m *ReadModel) Get(ctx context.Context, id string) (Booking, bool, error) {
	return m.side.Load().Store.Get(ctx, id)
}

// All reads every row, in booking ID order.
func (m *ReadModel) All(ctx context.Context) ([]Booking, error) {
	return Rows(ctx, m.side.Load().Store)
}

// ServeHTTP answers a query of the read model from the side serving it.
func (m *ReadModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.side.Load().HTTP.ServeHTTP(w, r)
}

// Rows reads every row of a projection's store, in booking ID order.
func Rows(ctx context.Context, store *query.KeyValueStore[string, Booking]) ([]Booking, error) {
	it, err := store.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", store.Name(), err)
	}
	var rows []Booking
	for it.Next() {
		rows = append(rows, it.Value())
	}
	if err := it.Err(); err != nil {
		it.Close()
		return nil, fmt.Errorf("read %s: %w", store.Name(), err)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("read %s: %w", store.Name(), err)
	}
	return rows, nil
}
