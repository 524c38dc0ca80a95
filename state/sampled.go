package state

import (
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/window"
)

// The stores' reads and writes of one key are timed for the runtime's
// metrics, one operation in engine.SampleEvery per store, through the
// task's engine.StoreSampler (nil, timing nothing, without metrics).

func (s *kvStore[K, V]) Get(key K) (V, bool, error) {
	start, timed := s.sampler.Start(engine.StoreGet)
	v, ok, err := s.doGet(key)
	if timed {
		s.sampler.Done(engine.StoreGet, start)
	}
	return v, ok, err
}

func (s *kvStore[K, V]) Put(key K, value V) error {
	start, timed := s.sampler.Start(engine.StorePut)
	err := s.doPut(key, value)
	if timed {
		s.sampler.Done(engine.StorePut, start)
	}
	return err
}

func (s *kvStore[K, V]) Delete(key K) error {
	start, timed := s.sampler.Start(engine.StorePut)
	err := s.doDelete(key)
	if timed {
		s.sampler.Done(engine.StorePut, start)
	}
	return err
}

func (s *windowStore[K, V]) Put(key K, value V, windowStart time.Time) error {
	start, timed := s.sampler.Start(engine.StorePut)
	err := s.doPut(key, value, windowStart)
	if timed {
		s.sampler.Done(engine.StorePut, start)
	}
	return err
}

func (s *windowStore[K, V]) Fetch(key K, windowStart time.Time) (V, bool, error) {
	start, timed := s.sampler.Start(engine.StoreGet)
	v, ok, err := s.doFetch(key, windowStart, false)
	if timed {
		s.sampler.Done(engine.StoreGet, start)
	}
	return v, ok, err
}

func (s *sessionStore[K, V]) Put(session window.Windowed[K], agg V) error {
	start, timed := s.sampler.Start(engine.StorePut)
	err := s.doPut(session, agg)
	if timed {
		s.sampler.Done(engine.StorePut, start)
	}
	return err
}

func (s *sessionStore[K, V]) Remove(session window.Windowed[K]) error {
	start, timed := s.sampler.Start(engine.StorePut)
	err := s.doRemove(session)
	if timed {
		s.sampler.Done(engine.StorePut, start)
	}
	return err
}

func (s *sessionStore[K, V]) FetchSession(key K, start, end time.Time) (V, bool, error) {
	began, timed := s.sampler.Start(engine.StoreGet)
	v, ok, err := s.doFetchSession(key, start, end)
	if timed {
		s.sampler.Done(engine.StoreGet, began)
	}
	return v, ok, err
}
