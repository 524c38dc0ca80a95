package ktable

import (
	"time"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// Option configures one table operation. It is the same type as
// kstream.Option and join.Option: any of the three packages' options can be
// passed to any operation, which reports those it does not take at
// Builder.Build.
type Option = dsl.Option

// optKind is a set of kinds of options.
type optKind = dsl.Kind

// The kinds of the options table operations take.
const (
	optName            = dsl.OptNamed
	optStore           = dsl.OptStoreOptions
	optSerdes          = dsl.OptKeySerde | dsl.OptValueSerde
	optEmitOnClose     = dsl.OptEmitOnClose
	optSourceChangelog = dsl.OptSourceChangelog
	optVersioned       = dsl.OptVersioned
)

// options are the settings of one table operation.
type options struct {
	name       string
	storeOpts  []state.Option
	keySerde   any // serde.Serde[K]
	valueSerde any // serde.Serde[V]
	history    time.Duration
	set        optKind
}

// Named names the operation. For aggregations and tables read from topics it
// names the store, and so its changelog and any repartition topic the
// operation needs; otherwise it names the processor node. Named operations
// keep their state when the topology around them changes. It is the same
// option as kstream.Named and join.Named.
func Named(name string) Option { return dsl.Named(name) }

// WithStoreOptions passes options to the operation's store, such as
// state.InMemory() or state.Logging(false). It is the same option as
// join.WithStoreOptions.
func WithStoreOptions(opts ...state.Option) Option { return dsl.WithStoreOptions(opts...) }

// WithKeySerde sets the key serde an operation writes keys with (to its
// store and repartition topic), where it cannot tell it from its input.
// It is the same option as join.WithKeySerde.
func WithKeySerde[K any](s serde.Serde[K]) Option { return dsl.WithKeySerde(s) }

// WithValueSerde sets the value serde an operation writes values with.
func WithValueSerde[V any](s serde.Serde[V]) Option {
	return dsl.NewOption(dsl.OptValueSerde, func(o *dsl.Options) { o.ValueSerde = s })
}

// collect applies opts for the operation op, which takes the options in
// accepts. Mistakes are recorded on b for Build to report.
func collect(b *topology.Builder, op string, opts []Option, accepts optKind) *options {
	d := dsl.Collect(b, op, accepts, nil, opts)
	return &options{name: d.Name, storeOpts: d.StoreOpts, keySerde: d.KeySerde, valueSerde: d.ValueSerde, history: d.History, set: d.Given}
}

func (o *options) nameOr(b *topology.Builder, prefix string) string {
	if o.name != "" {
		return o.name
	}
	return b.NewName(prefix)
}

// serdesFor returns the key and value serdes for writing s: the options',
// else the stream's, else the builder's, failing Build when one is unknown.
func serdesFor[K, V any](b *topology.Builder, op string, s dsl.Stream[K, V], o *options) (serde.Serde[K], serde.Serde[V]) {
	return dsl.SerdeOr(b, op, "key", o.keySerde, s.KeySerde()), dsl.SerdeOr(b, op, "value", o.valueSerde, s.ValueSerde())
}
