package ktable

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// GroupedStream is a stream grouped by key, ready to be aggregated.
type GroupedStream[K, V any] struct {
	s          kstream.Stream[K, V]
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	name       string // names the repartition topic when set
	// named is s through the repartition topic Named names, made by the
	// first aggregation that needs it and read by the others: Kafka
	// Streams' aggregations of a grouping named with Grouped.as share
	// its topic.
	named *kstream.Stream[K, V]
}

// GroupByKey groups s by its current key. If the key may have changed since
// s was read, the aggregation repartitions first. Options: WithKeySerde and
// WithValueSerde for the repartition topic, Named to name it.
func GroupByKey[K, V any](s kstream.Stream[K, V], opts ...Option) *GroupedStream[K, V] {
	c := dsl.Stream[K, V](s)
	b := c.Builder()
	o := collect(b, "GroupByKey", opts, optName|optSerdes)
	ks, vs := serdesFor(b, "GroupByKey", c, o)
	return &GroupedStream[K, V]{s: s, keySerde: ks, valueSerde: vs, name: o.name}
}

// GroupBy groups s by the key fn selects, which always repartitions.
//
// A record with a null value is dropped before fn, counted as dropped and
// logged: the stream aggregations would drop it anyway, and fn need not
// handle the zero value a null stands for. Kafka Streams calls its selector
// for such a record and drops it after the repartition topic.
func GroupBy[K, V, K2 any](s kstream.Stream[K, V], fn func(key K, value V) K2, opts ...Option) *GroupedStream[K2, V] {
	c := dsl.Stream[K, V](s)
	b := c.Builder()
	o := collect(b, "GroupBy", opts, optName|optSerdes)
	if fn == nil {
		b.Fail(fmt.Errorf("GroupBy: nil key selector"))
	}
	name := b.NewName("KSTREAM-KEY-SELECT-")
	topology.AddProcessor(b, name, func() topology.Processor[K, V, K2, V] {
		return &groupKeyProc[K, V, K2]{fn: fn}
	}, c.Node())
	kc := dsl.NewStream[K2, V](b, name, nil, c.ValueSerde(), true)
	keyed := kstream.Stream[K2, V](kc)
	ks, vs := serdesFor(b, "GroupBy", kc, o)
	return &GroupedStream[K2, V]{s: keyed, keySerde: ks, valueSerde: vs, name: o.name}
}

// groupKeyProc replaces each record's key with the one fn selects, and drops
// records with a null value without calling fn.
type groupKeyProc[K, V, K2 any] struct {
	base[K2, V]
	fn func(K, V) K2
}

func (p *groupKeyProc[K, V, K2]) Process(r topology.Record[K, V]) error {
	if r.IsTombstone() {
		p.ctx.SkipRecord("null value in GroupBy")
		return nil
	}
	return p.ctx.Forward(topology.WithKey(r, p.fn(r.Key, r.Value)))
}

// input returns the stream the aggregation reads: s itself, or s through a
// repartition topic when its key may have changed, named after the
// grouping when it is named (one topic for all its aggregations), else
// after prefix (one per aggregation, as in Kafka Streams).
func (g *GroupedStream[K, V]) input(prefix string) kstream.Stream[K, V] {
	if !dsl.Stream[K, V](g.s).RepartitionRequired() {
		return g.s
	}
	if g.name == "" {
		return repartition(g.s, prefix, g.keySerde, g.valueSerde, nil)
	}
	if g.named == nil {
		r := repartition(g.s, g.name, g.keySerde, g.valueSerde, nil)
		g.named = &r
	}
	return *g.named
}

// repartition writes s to the internal topic "<prefix>-repartition" and
// reads it back, so that records with equal keys land in the same task:
// kstream's Repartition, named after prefix (Kafka Streams names an
// aggregation's repartition topic after its store).
//
// When the builder merges repartition topics
// (topology.MergeRepartitionTopics), every stateful operation reading s
// shares one topic, the first's.
func repartition[K, V any](s kstream.Stream[K, V], prefix string, ks serde.Serde[K], vs serde.Serde[V], _ *options) kstream.Stream[K, V] {
	return kstream.Stream[K, V](dsl.RepartitionForState(dsl.Stream[K, V](s), dsl.Repartitioning[K, V]{
		Prefix: prefix, KeySerde: ks, ValueSerde: vs,
		DropReason: "null key: the record cannot be repartitioned",
	}, ""))
}
