package kstream

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
)

// Repartition writes the stream to an internal topic and reads it back, as
// Kafka Streams' repartition(): records are redistributed by their current
// key, and the topology splits into sub-topologies there. The topic is
// "<applicationID>-<name>-repartition", with the name given by [Named] or
// generated (KSTREAM-REPARTITION-<n>); the application creates it with the
// partition count given by [WithPartitions], or as many partitions as the
// stream's sub-topology has tasks. [WithSerdes] sets its serdes where the
// stream's are unknown. Records with a null key cannot be placed: they are
// dropped, counted and logged.
//
// The result needs no further repartitioning: a stateful operation after it
// reads it as it is.
//
// Stateful operations repartition a stream whose key may have changed
// themselves, through a topic each, or one for all of them when the builder
// merges repartition topics (topology.MergeRepartitionTopics). Repartition
// is never merged, as in Kafka Streams.
func (s Stream[K, V]) Repartition(opts ...Option) Stream[K, V] {
	b := s.builder()
	o := collect(b, "Repartition", "KSTREAM-REPARTITION-", optSerdes|optPartitions, opts)
	if o.partitions < 0 {
		b.Fail(fmt.Errorf("Repartition %q: WithPartitions(%d): the count must be positive", o.name, o.partitions))
	}
	c := s.core()
	ks, vs := writeSerdes(b, "Repartition", o.name, c, o)
	return wrap(dsl.Repartition(c, dsl.Repartitioning[K, V]{
		Prefix: o.name, KeySerde: ks, ValueSerde: vs, Partitions: o.partitions,
		DropReason: "null key: the record cannot be repartitioned",
	}))
}
