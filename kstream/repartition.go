package kstream

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/topology"
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
func (s Stream[K, V]) Repartition(opts ...Option) Stream[K, V] {
	b := s.builder()
	o := collect(b, "Repartition", "KSTREAM-REPARTITION-", optSerdes|optPartitions, opts)
	if o.partitions < 0 {
		b.Fail(fmt.Errorf("Repartition %q: WithPartitions(%d): the count must be positive", o.name, o.partitions))
	}
	c := s.core()
	ks, vs := writeSerdes(b, "Repartition", o.name, c, o)
	topic := o.name + "-repartition"
	filter := o.name + "-repartition-filter"
	topology.AddProcessor(b, filter, func() topology.Processor[K, V, K, V] { return &nullKeyFilter[K, V]{} }, s.node())
	topology.AddInternalSink(b, o.name+"-repartition-sink", topology.Sink[K, V]{Topic: topic, KeySerde: ks, ValueSerde: vs}, max(o.partitions, 0), filter)
	src := o.name + "-repartition-source"
	topology.AddInternalSource(b, src, topology.Source[K, V]{Topics: []string{topic}, KeySerde: ks, ValueSerde: vs})
	return wrap(dsl.NewStream(b, src, ks, vs, false))
}

// nullKeyFilter drops records whose key is null, counting and logging them.
type nullKeyFilter[K, V any] struct{ base[K, V] }

func (p *nullKeyFilter[K, V]) Process(r topology.Record[K, V]) error {
	if r.HasNullKey() {
		p.ctx.SkipRecord("null key: the record cannot be repartitioned")
		return nil
	}
	return p.ctx.Forward(r)
}
