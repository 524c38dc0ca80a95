package kstream

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Merge returns the union of s and other: every record of either, forwarded
// unchanged as it arrives. As in Kafka Streams there is no ordering
// guarantee between the two inputs beyond each one's own order. The merge is
// one node with both streams' nodes as parents, so each record is forwarded
// once.
//
// Both streams must come from the same Builder, else Build fails naming
// both nodes; merging a stream with itself also fails Build. The result
// needs a repartition if either input does. It uses s's serdes where known,
// else other's.
//
// Options: [Named] (default KSTREAM-MERGE-NNNNNNNNNN).
func (s Stream[K, V]) Merge(other Stream[K, V], opts ...Option) Stream[K, V] {
	b := s.builder()
	name := collect(b, "Merge", "KSTREAM-MERGE-", 0, opts).name
	parents := []string{s.node()}
	switch {
	case other.builder() != b:
		b.Fail(fmt.Errorf("Merge %q: cannot merge %q with %q, which belongs to another Builder", name, s.node(), other.node()))
	case other.node() == s.node():
		b.Fail(fmt.Errorf("Merge %q: cannot merge %q with itself", name, s.node()))
	default:
		parents = append(parents, other.node())
	}
	topology.AddProcessor(b, name, func() topology.Processor[K, V, K, V] {
		return &forwardProc[K, V]{}
	}, parents...)
	c, oc := s.core(), other.core()
	return wrap(dsl.NewStream(b, name,
		firstSerde(c.KeySerde(), oc.KeySerde()),
		firstSerde(c.ValueSerde(), oc.ValueSerde()),
		c.RepartitionRequired() || oc.RepartitionRequired()))
}

func firstSerde[T any](a, b serde.Serde[T]) serde.Serde[T] {
	if a != nil {
		return a
	}
	return b
}

// forwardProc forwards every record unchanged: the merge node and the
// branch nodes of a split.
type forwardProc[K, V any] struct {
	passthrough[K, V]
}

func (p *forwardProc[K, V]) Process(r topology.Record[K, V]) error { return p.ctx.Forward(r) }
