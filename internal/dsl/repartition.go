package dsl

import (
	"runtime"
	"sync"
	"weak"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Repartitioning describes a repartition topic: the records of a stream
// written to the internal topic "<Prefix>-repartition" and read back, so
// that records with equal keys land in the same task. Its nodes are
// "<Prefix>-repartition-filter" (which drops records with a null key
// unless KeepNullKeys), "-sink" and "-source".
type Repartitioning[K, V any] struct {
	Prefix     string
	KeySerde   serde.Serde[K]
	ValueSerde serde.Serde[V]
	// Partitions is the topic's partition count; 0: as many as the
	// sub-topology writing it has tasks.
	Partitions int
	// KeepNullKeys passes records with a null key on to the topic, which
	// the sink spreads round-robin (the outer sides of stream-stream
	// joins); otherwise they are dropped, counted and logged with
	// DropReason.
	KeepNullKeys bool
	DropReason   string
}

// Repartition writes s to the repartition topic r describes and returns the
// stream read back from it.
func Repartition[K, V any](s Stream[K, V], r Repartitioning[K, V]) Stream[K, V] {
	b := s.Builder()
	topic := r.Prefix + "-repartition"
	filter, src := topic+"-filter", topic+"-source"
	keep, reason := r.KeepNullKeys, r.DropReason
	topology.AddProcessor(b, filter, func() topology.Processor[K, V, K, V] {
		return &nullKeyFilter[K, V]{keep: keep, reason: reason}
	}, s.Node())
	topology.AddInternalSink(b, topic+"-sink", topology.Sink[K, V]{Topic: topic, KeySerde: r.KeySerde, ValueSerde: r.ValueSerde}, max(r.Partitions, 0), filter)
	topology.AddInternalSource(b, src, topology.Source[K, V]{Topics: []string{topic}, KeySerde: r.KeySerde, ValueSerde: r.ValueSerde})
	return NewStream(b, src, r.KeySerde, r.ValueSerde, false)
}

// RepartitionForState is Repartition for the repartition a stateful
// operation (an aggregation, a join, a table) needs because s's key may
// have changed. When the builder merges repartition topics
// (topology.MergeRepartitionTopics), every such operation reading s shares
// the topic of the first, which names it and gives its serdes, as in Kafka
// Streams; those that treat null keys differently from the first get one
// of their own (the topic's records are the filter's). shareAs, when not
// empty, shares the topic among the operations that pass the same value
// even without the optimization (the unnamed joins of one stream).
func RepartitionForState[K, V any](s Stream[K, V], r Repartitioning[K, V], shareAs string) Stream[K, V] {
	b := s.Builder()
	var keys []string
	if shareAs != "" {
		keys = append(keys, "as:"+shareAs)
	}
	if b.Optimizations()&topology.MergeRepartitionTopics != 0 {
		merged := "node:" + s.Node() + "/drop"
		if r.KeepNullKeys {
			merged = "node:" + s.Node() + "/keep"
		}
		keys = append(keys, merged)
	}
	for _, k := range keys {
		if prior, ok := recall(b, k); ok {
			if p, ok := prior.(Stream[K, V]); ok {
				return p
			}
		}
	}
	out := Repartition(s, r)
	for _, k := range keys {
		remember(b, k, out)
	}
	return out
}

// nullKeyFilter passes records on to a repartition topic, dropping those
// with a null key unless keep is set.
type nullKeyFilter[K, V any] struct {
	ctx    topology.Context[K, V]
	keep   bool
	reason string
}

func (p *nullKeyFilter[K, V]) Init(ctx topology.Context[K, V]) error { p.ctx = ctx; return nil }

func (p *nullKeyFilter[K, V]) Process(r topology.Record[K, V]) error {
	if r.HasNullKey() && !p.keep {
		p.ctx.SkipRecord(p.reason)
		return nil
	}
	return p.ctx.Forward(r)
}

func (p *nullKeyFilter[K, V]) Close() error { return nil }

// The nodes DSL operations have added to each builder for others to share,
// by key. A builder's entry goes when the builder is garbage collected.
var (
	sharedMu sync.Mutex
	shared   = map[weak.Pointer[topology.Builder]]map[string]any{}
)

// recall returns what remember stored under key for b.
func recall(b *topology.Builder, key string) (any, bool) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	v, ok := shared[weak.Make(b)][key]
	return v, ok
}

// remember stores v under key for b.
func remember(b *topology.Builder, key string, v any) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	wp := weak.Make(b)
	m := shared[wp]
	if m == nil {
		m = map[string]any{}
		shared[wp] = m
		runtime.AddCleanup(b, func(wp weak.Pointer[topology.Builder]) {
			sharedMu.Lock()
			defer sharedMu.Unlock()
			delete(shared, wp)
		}, wp)
	}
	m[key] = v
}
