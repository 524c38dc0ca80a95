package kstream

import "github.com/strata-go/strata/topology"

// The operations here are the forms of Filter, MapValues and FlatMapValues
// whose function can fail: an error it returns is the record's processing
// error (a topology.ProcessingError of the operation's node), to which
// strata's Config.OnProcessingError applies, as to a panic: by default the
// application stops with it; under skip the record is skipped, under
// dead-letter it goes to the dead-letter topic as read, and the
// application goes on. Nothing is forwarded for a record whose function
// failed. For a side effect that may fail and be retried, use
// [Stream.Handle].

// FilterErr is [Stream.Filter] with a predicate that can fail: keep's error
// is the record's processing error (see Config.OnProcessingError).
//
// Options: [Named] (default KSTREAM-FILTER-NNNNNNNNNN).
func (s Stream[K, V]) FilterErr(keep func(key K, value V) (bool, error), opts ...Option) Stream[K, V] {
	return s.filterOp("FilterErr", keep == nil, opts, func() topology.Processor[K, V, K, V] {
		return &filterErrProc[K, V]{keep: keep}
	})
}

type filterErrProc[K, V any] struct {
	passthrough[K, V]
	keep func(K, V) (bool, error)
}

func (p *filterErrProc[K, V]) Process(r topology.Record[K, V]) error {
	ok, err := p.keep(r.Key, r.Value)
	if err != nil || !ok {
		return err
	}
	return p.ctx.Forward(r)
}

// MapValuesErr is [MapValues] with a function that can fail: fn's error is
// the record's processing error (see Config.OnProcessingError), and nothing
// is forwarded for it.
//
// Options: [Named] (default KSTREAM-MAPVALUES-NNNNNNNNNN).
func MapValuesErr[K, V, V2 any](s Stream[K, V], fn func(key K, value V) (V2, error), opts ...Option) Stream[K, V2] {
	return valuesOp(s, "MapValuesErr", "KSTREAM-MAPVALUES-", fn == nil, opts, func() topology.Processor[K, V, K, V2] {
		return &mapValuesErrProc[K, V, V2]{fn: fn}
	})
}

type mapValuesErrProc[K, V, V2 any] struct {
	base[K, V2]
	fn func(K, V) (V2, error)
}

func (p *mapValuesErrProc[K, V, V2]) Process(r topology.Record[K, V]) error {
	v, err := p.fn(r.Key, r.Value)
	if err != nil {
		return err
	}
	return p.ctx.Forward(keepNulls(r, topology.WithValue(r, v)))
}

// FlatMapValuesErr is [FlatMapValues] with a function that can fail: fn's
// error is the record's processing error (see Config.OnProcessingError),
// and none of the values it returned with the error is forwarded.
//
// Options: [Named] (default KSTREAM-FLATMAPVALUES-NNNNNNNNNN).
func FlatMapValuesErr[K, V, V2 any](s Stream[K, V], fn func(key K, value V) ([]V2, error), opts ...Option) Stream[K, V2] {
	return valuesOp(s, "FlatMapValuesErr", "KSTREAM-FLATMAPVALUES-", fn == nil, opts, func() topology.Processor[K, V, K, V2] {
		return &flatMapValuesErrProc[K, V, V2]{fn: fn}
	})
}

type flatMapValuesErrProc[K, V, V2 any] struct {
	base[K, V2]
	fn func(K, V) ([]V2, error)
}

func (p *flatMapValuesErrProc[K, V, V2]) Process(r topology.Record[K, V]) error {
	vs, err := p.fn(r.Key, r.Value)
	if err != nil {
		return err
	}
	return forwardValues(p.ctx, r, vs)
}
