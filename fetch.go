package strata

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchMaxWait is how long a broker may hold a fetch that found too little
// to return: Kafka's fetch.max.wait.ms default, where franz-go's is 5s. A
// partition resumed after a pause (a busy handler, a held record) is
// fetched only once the fetch in flight returns, which, while the other
// partitions are at their end, took up to franz-go's 5s.
const fetchMaxWait = 500 * time.Millisecond

// clientOptions returns the options every Kafka client of the instance that
// consumes starts with: the fetch bounds of the configuration
// (Config.FetchMaxBytes, FetchMaxPartitionBytes) and Kafka's fetch wait
// (fetchMaxWait), then Config.ClientOptions, which may override them, and
// then opts, the client's own.
func (c *Config) clientOptions(opts ...kgo.Opt) []kgo.Opt {
	all := make([]kgo.Opt, 0, 3+len(c.ClientOptions)+len(opts))
	all = append(all,
		kgo.FetchMaxBytes(c.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(c.FetchMaxPartitionBytes),
		kgo.FetchMaxWait(fetchMaxWait),
	)
	all = append(all, c.ClientOptions...)
	return append(all, opts...)
}
