package query

import (
	"context"
	"math"
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/window"
)

// WindowStore is a typed, read-only handle on a window store of a Source,
// obtained once with [Window] and safe for concurrent use. Time ranges are
// inclusive and select windows by their start; expired windows are never
// returned.
type WindowStore[K, V any] struct {
	h     *handle
	ks    serde.Serde[K]
	fetch func(s engine.Store, key K, start int64) (V, bool, error)
	page  func(s engine.Store, key []byte, from, to int64, p iq.Page, fn func(enc []byte, w window.Windowed[K], v V) error) (iq.PageEnd, error)
}

// Window returns a handle on the window store called name in src, holding
// keys of type K and values of type V. The DSL's windowed aggregations hold
// state.Timestamped values: ask for V to read the values alone, or for
// state.Timestamped[V]. A store src does not have is an error wrapping
// ErrUnknownStore; other types or another kind of store, ErrStoreType.
func Window[K, V any](src Source, name string, opts ...Option) (*WindowStore[K, V], error) {
	h, sample, err := newHandle(src, name, "window", opts)
	if err != nil {
		return nil, err
	}
	s := &WindowStore[K, V]{h: h}
	switch st := sample.(type) {
	case iq.Window[K, V]:
		s.ks = st.QueryKeySerde()
		windowAccess(s, func(v V) V { return v })
	case iq.Window[K, state.Timestamped[V]]:
		s.ks = st.QueryKeySerde()
		windowAccess(s, func(v state.Timestamped[V]) V { return v.Value })
	default:
		return nil, typeError[K, V](name, "window", sample)
	}
	return s, nil
}

// windowAccess makes s read a store whose values are of type SV.
func windowAccess[K, V, SV any](s *WindowStore[K, V], conv func(SV) V) {
	store := func(st engine.Store) (iq.Window[K, SV], error) {
		w, ok := st.(iq.Window[K, SV])
		if !ok {
			return nil, typeError[K, V](s.h.name, "window", st)
		}
		return w, nil
	}
	s.fetch = func(st engine.Store, key K, start int64) (V, bool, error) {
		var zero V
		w, err := store(st)
		if err != nil {
			return zero, false, err
		}
		sv, ok, err := w.QueryFetch(key, start)
		if err != nil || !ok {
			return zero, false, err
		}
		return conv(sv), true, nil
	}
	s.page = func(st engine.Store, key []byte, from, to int64, p iq.Page, fn func(enc []byte, w window.Windowed[K], v V) error) (iq.PageEnd, error) {
		w, err := store(st)
		if err != nil {
			return iq.PageEnd{}, err
		}
		return w.QueryWindows(key, from, to, p, func(enc []byte, wk window.Windowed[K], sv SV) error { return fn(enc, wk, conv(sv)) })
	}
}

// Name is the store's name.
func (s *WindowStore[K, V]) Name() string { return s.h.name }

// Fetch returns the value of key's window starting at start, or ok false
// if there is none. Errors are as for KeyValueStore.Get.
func (s *WindowStore[K, V]) Fetch(ctx context.Context, key K, start time.Time) (value V, ok bool, err error) {
	p, err := keyPartition(s.h, s.ks, key)
	if err != nil {
		return value, false, err
	}
	st, lease, err := s.h.acquire(ctx, p)
	if err != nil {
		return value, false, err
	}
	defer lease.Release()
	return s.fetch(st, key, start.UnixMilli())
}

// FetchRange iterates the windows of key whose start is in [from, to], in
// ascending order of start; the iterator's Key is the window's start. The
// key's partition must be held here, as for Fetch.
func (s *WindowStore[K, V]) FetchRange(ctx context.Context, key K, from, to time.Time) (state.Iterator[time.Time, V], error) {
	it, err := s.fetchKey(ctx, key, from, to, false)
	if err != nil {
		return nil, err
	}
	return startIter[K, V]{it}, nil
}

// BackwardFetchRange is FetchRange in descending order of start.
func (s *WindowStore[K, V]) BackwardFetchRange(ctx context.Context, key K, from, to time.Time) (state.Iterator[time.Time, V], error) {
	it, err := s.fetchKey(ctx, key, from, to, true)
	if err != nil {
		return nil, err
	}
	return startIter[K, V]{it}, nil
}

func (s *WindowStore[K, V]) fetchKey(ctx context.Context, key K, from, to time.Time, reverse bool) (*mergeIter[window.Windowed[K], V], error) {
	enc, p, err := keyAt(s.h, s.ks, key)
	if err != nil {
		return nil, err
	}
	return s.scan(ctx, enc, from.UnixMilli(), to.UnixMilli(), reverse, []int32{p})
}

// FetchAll iterates the windows of every key whose start is in [from, to],
// by key (in the order of their serialized bytes), then start, over the
// partitions this instance holds.
func (s *WindowStore[K, V]) FetchAll(ctx context.Context, from, to time.Time) (state.Iterator[window.Windowed[K], V], error) {
	return s.scan(ctx, nil, from.UnixMilli(), to.UnixMilli(), false, nil)
}

// All iterates every window of the partitions this instance holds, by key,
// then start.
func (s *WindowStore[K, V]) All(ctx context.Context) (state.Iterator[window.Windowed[K], V], error) {
	return s.scan(ctx, nil, math.MinInt64, math.MaxInt64, false, nil)
}

// LocalPartitions lists the partitions of the store this instance holds.
func (s *WindowStore[K, V]) LocalPartitions() ([]int32, error) { return s.h.local() }

// KeyMetadata says which partition holds key and which instances hold it.
func (s *WindowStore[K, V]) KeyMetadata(key K) (KeyMetadata, error) {
	return keyMetadata(s.h, s.ks, key)
}

// scan iterates the windows of the key encoded as key (every key when nil)
// starting in [from, to] of parts, or of the local partitions when nil.
func (s *WindowStore[K, V]) scan(ctx context.Context, key []byte, from, to int64, reverse bool, parts []int32) (*mergeIter[window.Windowed[K], V], error) {
	parts, err := s.h.localOr(parts)
	if err != nil {
		return nil, err
	}
	return newMergeIter(ctx, s.h, parts, reverse, func(st engine.Store, p iq.Page, fn func(enc []byte, w window.Windowed[K], v V) error) (iq.PageEnd, error) {
		return s.page(st, key, from, to, p, fn)
	})
}

// SessionStore is a typed, read-only handle on a session store of a
// Source, obtained once with [Session] and safe for concurrent use.
// Sessions come by key, then end, then start; expired sessions are never
// returned.
type SessionStore[K, V any] struct {
	h  *handle
	ks serde.Serde[K]
}

// Session returns a handle on the session store called name in src,
// holding keys of type K and values of type V (the DSL's session
// aggregations hold their values as they are). A store src does not have
// is an error wrapping ErrUnknownStore; other types or another kind of
// store, ErrStoreType.
func Session[K, V any](src Source, name string, opts ...Option) (*SessionStore[K, V], error) {
	h, sample, err := newHandle(src, name, "session", opts)
	if err != nil {
		return nil, err
	}
	st, ok := sample.(iq.Session[K, V])
	if !ok {
		return nil, typeError[K, V](name, "session", sample)
	}
	return &SessionStore[K, V]{h: h, ks: st.QueryKeySerde()}, nil
}

// Name is the store's name.
func (s *SessionStore[K, V]) Name() string { return s.h.name }

// Fetch iterates every session of key. The key's partition must be held
// here, as for KeyValueStore.Get.
func (s *SessionStore[K, V]) Fetch(ctx context.Context, key K) (state.Iterator[window.Windowed[K], V], error) {
	return s.find(ctx, key, math.MinInt64, math.MaxInt64)
}

// FindSessions iterates the sessions of key that end at or after
// earliestEnd and start at or before latestStart.
func (s *SessionStore[K, V]) FindSessions(ctx context.Context, key K, earliestEnd, latestStart time.Time) (state.Iterator[window.Windowed[K], V], error) {
	return s.find(ctx, key, earliestEnd.UnixMilli(), latestStart.UnixMilli())
}

func (s *SessionStore[K, V]) find(ctx context.Context, key K, earliestEnd, latestStart int64) (*mergeIter[window.Windowed[K], V], error) {
	enc, p, err := keyAt(s.h, s.ks, key)
	if err != nil {
		return nil, err
	}
	return s.scan(ctx, enc, earliestEnd, latestStart, []int32{p})
}

// All iterates every session of the partitions this instance holds.
func (s *SessionStore[K, V]) All(ctx context.Context) (state.Iterator[window.Windowed[K], V], error) {
	return s.scan(ctx, nil, math.MinInt64, math.MaxInt64, nil)
}

// LocalPartitions lists the partitions of the store this instance holds.
func (s *SessionStore[K, V]) LocalPartitions() ([]int32, error) { return s.h.local() }

// KeyMetadata says which partition holds key and which instances hold it.
func (s *SessionStore[K, V]) KeyMetadata(key K) (KeyMetadata, error) {
	return keyMetadata(s.h, s.ks, key)
}

func (s *SessionStore[K, V]) scan(ctx context.Context, key []byte, earliestEnd, latestStart int64, parts []int32) (*mergeIter[window.Windowed[K], V], error) {
	parts, err := s.h.localOr(parts)
	if err != nil {
		return nil, err
	}
	name := s.h.name
	return newMergeIter(ctx, s.h, parts, false, func(st engine.Store, p iq.Page, fn func(enc []byte, w window.Windowed[K], v V) error) (iq.PageEnd, error) {
		ss, ok := st.(iq.Session[K, V])
		if !ok {
			return iq.PageEnd{}, typeError[K, V](name, "session", st)
		}
		return ss.QuerySessions(key, earliestEnd, latestStart, p, fn)
	})
}
