package state

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Option configures a store.
type Option func(*spec)

// InMemory keeps the store in an ordered in-memory tree instead of Pebble.
// A logged in-memory store is restored from its changelog whenever its task
// starts.
func InMemory() Option { return func(s *spec) { s.inMemory = true } }

// Logging turns the store's changelog on (the default) or off. A store
// without a changelog loses its contents when its task moves to another
// instance or its local state is wiped.
func Logging(enabled bool) Option { return func(s *spec) { s.logged = enabled } }

// Caching turns the record cache on or off for the store (default off, as
// for stores built with Kafka Streams' Stores factories; the DSL turns it on
// for the stores it makes). The cache is the application's
// (strata.Config.CacheMaxBytes, testutil.Config.CacheMaxBytes): with it,
// writes go to memory and reach the store and its changelog when the task
// commits, or when the cache, full, evicts them, so that many updates of a
// key between two commits cost one store write and one changelog record.
// Reads see cached writes. See [CachedKeyValueStore], [CachedWindowStore]
// and [CachedSessionStore] for the details and the flush listener through
// which aggregations forward their results.
//
// Versioned stores, and window stores that retain duplicates (those of
// stream-stream joins), ignore the option, as in Kafka Streams. With no
// cache configured (a budget of zero), a store with caching on writes
// through, as without it.
func Caching(enabled bool) Option { return func(s *spec) { s.caching = enabled } }

// ChangelogConfig sets a topic config of the store's changelog, used when
// the runtime creates it, such as "min.insync.replicas".
func ChangelogConfig(key, value string) Option {
	return func(s *spec) {
		if s.changelogConfigs == nil {
			s.changelogConfigs = map[string]string{}
		}
		s.changelogConfigs[key] = value
	}
}

// SourceChangelog makes topic, a topic the store's sub-topology reads, serve
// as the store's changelog, as Kafka Streams does for a table read from a
// topic when it reuses source topics: the store writes no changelog of its
// own and is restored from topic, up to the offset its task has committed;
// processing applies the rest. Records are restored as processing would
// store them: a null value deletes its key, a Timestamped store gets the
// record's timestamp with its value, and null keys are passed over, as
// processing drops them. A key or value the store's serdes cannot decode is
// handled by the app's bad-record policy, as processing handled it. Only
// key-value stores take it.
//
// The topic should be compacted, or restoration reads all of its history.
func SourceChangelog(topic string) Option {
	return func(s *spec) { s.source, s.hasSource = topic, true }
}

// spec is what a store declaration says, shared by the store's instances.
type spec struct {
	name             string
	kind             string
	inMemory         bool
	logged           bool
	caching          bool
	retainDuplicates bool
	changelogConfigs map[string]string
	// source is the topic restored from, with hasSource set, under
	// SourceChangelog.
	source    string
	hasSource bool
}

func newSpec(name, kind string, opts []Option) *spec {
	s := &spec{name: name, kind: kind, logged: true}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	return s
}

func (sp *spec) def(b *topology.Builder, defaults map[string]string, newStore func() engine.Store) {
	cfgs := map[string]string{}
	for k, v := range defaults {
		cfgs[k] = v
	}
	for k, v := range sp.changelogConfigs {
		cfgs[k] = v
	}
	if sp.hasSource {
		switch {
		case sp.source == "":
			b.Fail(fmt.Errorf("store %q: SourceChangelog with an empty topic", sp.name))
		case sp.kind != "key-value":
			b.Fail(fmt.Errorf("store %q: SourceChangelog applies to key-value stores only, not %s stores", sp.name, sp.kind))
		}
		sp.logged = false
	}
	b.AddStore(&engine.StoreDef{
		Name:             sp.name,
		Kind:             sp.kind,
		SourceTopic:      sp.source,
		Logged:           sp.logged,
		Persistent:       !sp.inMemory,
		ChangelogConfigs: cfgs,
		New:              newStore,
	})
}

// open returns the store's byte-level storage in task t.
func (sp *spec) open(t *engine.Task) (kv.Store, error) {
	if sp.inMemory {
		return kv.NewMemory(), nil
	}
	st, err := t.Storage()
	if err != nil {
		return nil, fmt.Errorf("open persistent store %q: %w", sp.name, err)
	}
	db, ok := st.(*kv.PebbleDB)
	if !ok {
		return nil, fmt.Errorf("open persistent store %q: task storage is %T, not Pebble", sp.name, st)
	}
	return db.Store(storePrefix(sp.name)), nil
}

// storePrefix is the fixed-length key prefix of a store inside its task's
// Pebble database: 8 bytes of the FNV-1a hash of its name. A hash, rather
// than the store's position, keeps a store's data findable when stores are
// added to or removed from the topology.
func storePrefix(name string) []byte {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum(nil)
}

// sendChangelog writes one changelog record in the task's partition, stamped
// with the time of the record being processed (stream time during
// punctuation).
func (sp *spec) sendChangelog(t *engine.Task, topic string, key, value []byte) error {
	if err := sp.sendChangelogAt(t, topic, key, value, writeTime(t)); err != nil {
		return fmt.Errorf("store %q: %w", sp.name, err)
	}
	return nil
}

// writeTime is the timestamp of a write made now: the time of the record
// being processed, stream time during punctuation, or the wall clock before
// the task processed anything.
func writeTime(t *engine.Task) int64 {
	if cur := t.Current(); cur.Valid {
		return cur.Timestamp
	}
	if ts := t.StreamTime(); ts != engine.UnknownTime {
		return ts
	}
	return t.Now().UnixMilli()
}

// sendChangelogAt writes one changelog record in the task's partition,
// stamped ts (Unix milliseconds). key and value must stay untouched until
// the record is acknowledged.
func (sp *spec) sendChangelogAt(t *engine.Task, topic string, key, value []byte, ts int64) error {
	r := engine.NewOutputRecord()
	r.Topic, r.Partition, r.Key, r.Value = topic, t.ChangelogPartition(), key, value
	r.Timestamp = time.UnixMilli(ts)
	err := t.Send(r)
	if err != nil {
		return fmt.Errorf("write changelog: %w", err)
	}
	return nil
}

// Changelog topic configs, as Kafka Streams sets them.
var kvChangelogConfigs = map[string]string{"cleanup.policy": "compact"}

// AddKeyValueStore declares a key-value store named name on b, kept in
// Pebble with a compacted changelog unless options say otherwise. Connect it
// to processors with Builder.ConnectStores (or the DSL's WithStores) and look
// it up with [LookupKeyValue].
func AddKeyValueStore[K, V any](b *topology.Builder, name string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...Option) {
	if keySerde == nil || valueSerde == nil {
		b.Fail(fmt.Errorf("store %q: key and value serdes are required", name))
		return
	}
	sp := newSpec(name, "key-value", opts)
	if sp.retainDuplicates {
		b.Fail(fmt.Errorf("store %q: RetainDuplicates applies to window stores only", name))
		return
	}
	sp.def(b, kvChangelogConfigs, func() engine.Store {
		return &kvStore[K, V]{spec: sp, keySerde: keySerde, valueSerde: valueSerde}
	})
}
