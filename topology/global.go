package topology

import "fmt"

// AddGlobalStore adds the update path of a global store, as Kafka Streams'
// Topology.addGlobalStore does: a source named source reading src's one
// topic, and below it a processor named processor, made by supplier, that
// writes each record into the store named store. The store must be declared
// on b (package state) with its changelog off: its source topic is its
// changelog.
//
// A global store holds every partition of its topic on every instance of the
// application. A dedicated consumer, outside the consumer group, restores it
// from the topic before any task starts and keeps it up to date while the
// application runs. The processors of every task read it, without being
// connected to it, through the normal lookups (state.LookupKeyValue and its
// siblings); their writes fail. Connecting a processor to a global store is
// an error. The update processor forwards nothing: it has no children.
func AddGlobalStore[K, V any](b *Builder, store, source string, src Source[K, V], processor string, supplier func() Processor[K, V, K, V]) {
	if len(src.Topics) != 1 {
		b.Fail(fmt.Errorf("global store %q: source %q must read exactly one topic, not %q", store, source, src.Topics))
	}
	AddSource(b, source, src)
	AddProcessor(b, processor, supplier, source)
	b.ConnectStores(processor, store)
	for _, name := range []string{source, processor} {
		if n := b.g.Node(name); n != nil {
			n.Global = true
		}
	}
}
