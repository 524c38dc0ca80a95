package ktable

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// GlobalTable is a table replicated in full on every instance of the
// application, Kafka Streams' GlobalKTable: each instance reads every
// partition of its topic into a global store, outside the consumer group.
// Join a stream with it, on any key derived from the stream's records and
// without repartitioning, with join.StreamGlobal and join.StreamGlobalLeft.
type GlobalTable[K, V any] dsl.GlobalTable[K, V]

// StoreName is the name of the global store holding the table's rows, as
// state.Timestamped[V] values: processors of every task can read it with
// state.LookupKeyValue[K, state.Timestamped[V]] without being connected to
// it.
func (g GlobalTable[K, V]) StoreName() string { return dsl.GlobalTable[K, V](g).Store() }

// Global reads topic as a global table, Kafka Streams' globalTable: each
// record updates its key's row and a tombstone deletes it; records with a
// null key are dropped. The rows are kept in a persistent global store,
// named by [Named] or "<topic>-STATE-STORE-<n>" as in Kafka Streams, whose
// changelog is topic itself: compact it, or restoration reads all its
// history.
//
// Before its tasks start, each instance of the application restores the
// store from every partition of topic up to their ends (read_committed:
// their last stable offsets), from where its checkpoint in the state
// directory says it stopped; it then applies updates as they arrive, while
// its tasks run. A join sees the table as that instance has read it so far,
// so results depend on timing, as in Kafka Streams. A nil serde is the
// builder's serde for the type (topology.RegisterSerde, else the built-in
// default). Global takes only [Named].
func Global[K, V any](b *topology.Builder, topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...Option) GlobalTable[K, V] {
	o := collect(b, "ktable.Global", opts, optName)
	storeName := o.name
	if storeName == "" {
		storeName = b.NewName(topic + "-STATE-STORE-")
	}
	source := b.NewName("KSTREAM-SOURCE-")
	procName := b.NewName("KTABLE-SOURCE-")
	keySerde = dsl.GivenOr(b, keySerde, fmt.Sprintf("ktable.Global %q (key)", topic))
	valueSerde = dsl.GivenOr(b, valueSerde, fmt.Sprintf("ktable.Global %q (value)", topic))
	state.AddKeyValueStore(b, storeName, keySerde, state.TimestampedSerde(valueSerde),
		state.SourceChangelog(topic), state.Caching(false))
	topology.AddGlobalStore(b, storeName, source,
		topology.Source[K, V]{Topics: []string{topic}, KeySerde: keySerde, ValueSerde: valueSerde},
		procName, func() topology.Processor[K, V, K, V] { return &globalSourceProc[K, V]{store: storeName} })
	return GlobalTable[K, V](dsl.NewGlobalTable(b, topic, storeName, keySerde, valueSerde))
}

// globalSourceProc applies the updates of a global table's topic to its
// store. It forwards nothing.
type globalSourceProc[K, V any] struct {
	base[K, V]
	store string
	rows  state.KeyValueStore[K, state.Timestamped[V]]
}

func (p *globalSourceProc[K, V]) Init(ctx topology.Context[K, V]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[K, state.Timestamped[V]](ctx, p.store)
	p.rows = s
	return err
}

func (p *globalSourceProc[K, V]) Process(r topology.Record[K, V]) error {
	if r.HasNullKey() {
		p.ctx.SkipRecord("null key in global table update")
		return nil
	}
	if r.IsTombstone() {
		return p.rows.Delete(r.Key)
	}
	return p.rows.Put(r.Key, state.Timestamped[V]{Value: r.Value, Timestamp: r.Timestamp})
}
