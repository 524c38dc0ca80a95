package join

import (
	"time"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// Option configures one join. It is the same type as kstream.Option and
// ktable.Option: any of the three packages' options can be passed to a
// join, which reports those it does not take at Builder.Build. Each join
// documents the options it takes.
type Option = dsl.Option

// optKind is a set of kinds of options.
type optKind = dsl.Kind

// The kinds of the options joins take.
const (
	optName        = dsl.OptNamed
	optStore       = dsl.OptStoreOptions
	optSerdes      = dsl.OptKeySerde | dsl.OptValueSerdes
	optResultSerde = dsl.OptResultSerde
	optGrace       = dsl.OptGrace
)

// Named names the join. The join's processors, stores, and so their
// changelogs and any repartition topics, take their names from it, so a
// named join keeps its state when the topology around it changes. It is
// the same option as kstream.Named and ktable.Named.
func Named(name string) Option { return dsl.Named(name) }

// WithStoreOptions passes options to the stores the join creates, such as
// state.InMemory() or state.Logging(false). It is the same option as
// ktable.WithStoreOptions.
func WithStoreOptions(opts ...state.Option) Option { return dsl.WithStoreOptions(opts...) }

// WithKeySerde sets the key serde the join writes keys with (to its stores
// and repartition topics) where it cannot tell it from its inputs. It is
// the same option as ktable.WithKeySerde.
func WithKeySerde[K any](s serde.Serde[K]) Option { return dsl.WithKeySerde(s) }

// WithValueSerdes sets the serdes the join writes the left and right values
// with, where it cannot tell them from its inputs. A nil serde keeps the
// input's.
func WithValueSerdes[V1, V2 any](left serde.Serde[V1], right serde.Serde[V2]) Option {
	return dsl.NewOption(dsl.OptValueSerdes, func(o *dsl.Options) {
		if left != nil {
			o.LeftSerde = left
		}
		if right != nil {
			o.RightSerde = right
		}
	})
}

// WithResultSerde sets the serde of the join's result values, for joins
// whose result is written to a store or topic: a materialized table join,
// a foreign-key join, or a later To or repartition of the result. Without
// it, the builder's serde for the result type is used (see
// topology.RegisterSerde).
func WithResultSerde[VR any](s serde.Serde[VR]) Option {
	return dsl.NewOption(optResultSerde, func(o *dsl.Options) { o.ResultSerde = s })
}

// collect applies opts for the join op, which takes the options in accepts.
// Mistakes are recorded on b for Build to report.
func collect(b *topology.Builder, op string, opts []Option, accepts optKind) *dsl.Options {
	return dsl.Collect(b, op, accepts, nil, opts)
}

// WithGracePeriod holds each stream record of a stream-table join back
// until stream time has passed its timestamp by grace, then joins it with
// the table's row as of its timestamp, Kafka Streams' Joined.withGracePeriod
// (KIP-923): table updates that arrive out of order, up to grace late, are
// then seen by the stream records they precede. The table must be
// versioned (ktable.Versioned), with a history retention of at least
// grace. Only join.StreamTable and StreamTableLeft take it.
func WithGracePeriod(grace time.Duration) Option {
	return dsl.NewOption(optGrace, func(o *dsl.Options) { o.Grace = grace })
}
