package state

import (
	"fmt"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/serde"
)

// What the flush functions of caching stores (key-value, window, session)
// share.

// flushOlds appends to olds, for each flushed entry, the store's value
// before the flush, or nil if the store does not hold the entry's key: when
// a listener (listening) asks for old values (sendOld), and for every
// delete, which is skipped when the store does not hold the key. Other
// entries get nil. The value comes from the cache when it knows it
// (CacheEntry.OldKnown), else from read, given the entry's cache key.
func flushOlds(entries []engine.CacheEntry, olds [][]byte, listening, sendOld bool, read func(key []byte) ([]byte, bool, error)) ([][]byte, error) {
	if !listening {
		return olds, nil
	}
	for _, e := range entries {
		var old []byte
		if (sendOld || e.Value == nil) && e.OldKnown {
			old = e.Old
		} else if sendOld || e.Value == nil {
			v, ok, err := read(e.Key)
			if err != nil {
				return olds, fmt.Errorf("read old value: %w", err)
			}
			if ok {
				old = v
			}
		}
		olds = append(olds, old)
	}
	return olds, nil
}

// logFlushed writes the changelog record of a flushed entry, keyed by its
// cache key, stamped with the time of its last write.
func (sp *spec) logFlushed(t *engine.Task, changelog string, e engine.CacheEntry) error {
	if !sp.logged {
		return nil
	}
	// The changelog record outlives the cache's bytes: copy them into
	// the task's output buffer.
	kb := append(t.OutputBuffer(), e.Key...)
	t.KeepOutput(kb)
	var vb []byte
	if e.Value != nil {
		vb = append(t.OutputBuffer(), e.Value...)
		t.KeepOutput(vb)
	}
	return sp.sendChangelogAt(t, changelog, kb, vb, e.Timestamp)
}

// decodeValues sets c's new value from a flushed entry's value, and its old
// value from old when sendOld is set; nil is none.
func (c *Change[K, V]) decodeValues(vs serde.Serde[V], topic string, value, old []byte, sendOld bool) error {
	var err error
	if c.NewValue, c.HasNew, err = deserializeFlushed(vs, topic, value); err != nil {
		return fmt.Errorf("deserialize value: %w", err)
	}
	if sendOld {
		if c.OldValue, c.HasOld, err = deserializeFlushed(vs, topic, old); err != nil {
			return fmt.Errorf("deserialize old value: %w", err)
		}
	}
	return nil
}

// deserializeFlushed decodes a flushed value; nil is none.
func deserializeFlushed[V any](vs serde.Serde[V], topic string, b []byte) (V, bool, error) {
	var v V
	if b == nil {
		return v, false, nil
	}
	v, err := vs.Deserialize(topic, b)
	return v, err == nil, err
}

// callFlushListener tells l about c, forwarding at ts, the time of the
// entry's last write.
func callFlushListener[C any](t *engine.Task, l func(C) error, c C, ts int64) error {
	prev := t.ForwardingAt(ts)
	err := l(c)
	t.DoneForwarding(prev)
	if err != nil {
		return fmt.Errorf("flush listener: %w", err)
	}
	return nil
}
