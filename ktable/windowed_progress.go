package ktable

import (
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// EmitOnWindowClose emits each window's result once, when it closes; the
// processor remembers how far it has emitted. Kafka Streams keeps that
// progress in the metadata of the task's committed offsets. Strata keeps it
// in a small key-value store of the aggregation's own, named after its
// window or session store with progressSuffix and logged to its changelog
// like any store: under exactly-once the progress commits in the same
// transaction as the results it covers, so a task that moves or restarts
// emits each closed window exactly once.

// progressSuffix names an emit-on-close aggregation's progress store after
// its window or session store.
const progressSuffix = "-emit-progress"

// progressKey is the store's one key: each task keeps its own progress.
const progressKey = "emitted-to"

// addProgressStore declares the progress store of the aggregation whose
// window or session store is named store, and connects it to proc.
func addProgressStore(b *topology.Builder, store, proc string, opts []state.Option) {
	name := store + progressSuffix
	state.AddKeyValueStore(b, name, serde.String(), serde.Int64(), opts...)
	b.ConnectStores(proc, name)
}

// emitProgress is an emit-on-close processor's handle on its progress: the
// latest window start (or session end) emitted through, -1 before the
// first emission.
type emitProgress struct {
	store state.KeyValueStore[string, int64]
	to    int64
}

// load reads the progress saved in the store of the aggregation whose
// window or session store is named store.
func (p *emitProgress) load(ctx interface {
	StateStore(name string) (topology.StateStore, error)
}, store string) error {
	s, err := state.LookupKeyValue[string, int64](ctx, store+progressSuffix)
	if err != nil {
		return err
	}
	p.store = s
	to, ok, err := s.Get(progressKey)
	if err != nil {
		return err
	}
	p.to = -1
	if ok {
		p.to = to
	}
	return nil
}

// advance records that everything through to has been emitted.
func (p *emitProgress) advance(to int64) error {
	p.to = to
	return p.store.Put(progressKey, to)
}
