package ktable

import "github.com/strata-go/strata/internal/dsl"

// SourceAsChangelog makes the topic a table is read from serve as the
// changelog of its store, as Kafka Streams does when it reuses source topics
// (topology.optimization=all): no changelog topic is created or written, and
// the store is restored from the source topic up to the offset the
// application has committed, processing applying the rest. Only [From] takes
// it.
//
// Use it when the source topic is compacted, or restoration reads all of its
// history, and when what the table stores is exactly what the topic holds:
// records that processing skips (a null key, a key or value that does not
// decode) are skipped by restoration too, under the app's bad-record policy.
// See state.SourceChangelog.
func SourceAsChangelog() Option { return dsl.NewOption(optSourceChangelog, func(*dsl.Options) {}) }
