package strata

import "github.com/twmb/franz-go/pkg/kgo"

// clientOptions returns the options every Kafka client of the instance that
// consumes starts with: the fetch bounds of the configuration
// (Config.FetchMaxBytes, FetchMaxPartitionBytes), then Config.ClientOptions,
// which may override them, and then opts, the client's own.
func (c *Config) clientOptions(opts ...kgo.Opt) []kgo.Opt {
	all := make([]kgo.Opt, 0, 2+len(c.ClientOptions)+len(opts))
	all = append(all,
		kgo.FetchMaxBytes(c.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(c.FetchMaxPartitionBytes),
	)
	all = append(all, c.ClientOptions...)
	return append(all, opts...)
}
