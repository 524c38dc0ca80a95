package join

import (
	"runtime"
	"sync"
	"weak"

	"github.com/strata-go/strata/topology"
)

// The repartition topics stream joins have added to each builder, so that
// a stream joined twice is repartitioned once: Kafka Streams reuses the
// repartition topic it names after the stream's node. A builder's entry
// goes when the builder is garbage collected.
var (
	repartitionsMu sync.Mutex
	repartitions   = map[weak.Pointer[topology.Builder]]map[string]bool{}
)

// addRepartition records that b has the repartition topic, and reports
// whether it is new.
func addRepartition(b *topology.Builder, topic string) bool {
	repartitionsMu.Lock()
	defer repartitionsMu.Unlock()
	wp := weak.Make(b)
	topics := repartitions[wp]
	if topics == nil {
		topics = map[string]bool{}
		repartitions[wp] = topics
		runtime.AddCleanup(b, func(wp weak.Pointer[topology.Builder]) {
			repartitionsMu.Lock()
			defer repartitionsMu.Unlock()
			delete(repartitions, wp)
		}, wp)
	}
	if topics[topic] {
		return false
	}
	topics[topic] = true
	return true
}
