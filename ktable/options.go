package ktable

import (
	"fmt"
	"strings"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// Option configures one table operation. Options an operation does not take
// are reported by Builder.Build.
type Option interface{ applyTo(o *options) }

type optKind int

const (
	optName optKind = 1 << iota
	optStore
	optSerdes
)

func (k optKind) String() string {
	var names []string
	for _, n := range []struct {
		k    optKind
		name string
	}{{optName, "Named"}, {optStore, "WithStoreOptions"}, {optSerdes, "WithKeySerde/WithValueSerde"}, {optEmitOnClose, "EmitOnWindowClose"}, {optSourceChangelog, "SourceAsChangelog"}} {
		if k&n.k != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}

type options struct {
	op         string
	name       string
	storeOpts  []state.Option
	keySerde   any // serde.Serde[K]
	valueSerde any // serde.Serde[V]
	set        optKind
}

type option struct {
	kind optKind
	fn   func(o *options)
}

func (opt option) applyTo(o *options) { o.set |= opt.kind; opt.fn(o) }

// Named names the operation. For aggregations and tables read from topics it
// names the store, and so its changelog and any repartition topic the
// operation needs; otherwise it names the processor node. Named operations
// keep their state when the topology around them changes.
func Named(name string) Option {
	return option{optName, func(o *options) { o.name = name }}
}

// WithStoreOptions passes options to the operation's store, such as
// state.InMemory() or state.Logging(false).
func WithStoreOptions(opts ...state.Option) Option {
	return option{optStore, func(o *options) { o.storeOpts = append(o.storeOpts, opts...) }}
}

// WithKeySerde sets the key serde an operation writes keys with (to its
// store and repartition topic), where it cannot tell it from its input.
func WithKeySerde[K any](s serde.Serde[K]) Option {
	return option{optSerdes, func(o *options) { o.keySerde = s }}
}

// WithValueSerde sets the value serde an operation writes values with.
func WithValueSerde[V any](s serde.Serde[V]) Option {
	return option{optSerdes, func(o *options) { o.valueSerde = s }}
}

func collect(b *topology.Builder, op string, opts []Option, accepts optKind) *options {
	o := &options{op: op}
	for _, opt := range opts {
		if opt == nil {
			b.Fail(fmt.Errorf("%s: nil option", op))
			continue
		}
		opt.applyTo(o)
	}
	if extra := o.set &^ accepts; extra != 0 {
		b.Fail(fmt.Errorf("%s: option %s does not apply (%s takes %s)", op, extra, op, accepts))
	}
	if o.set&optName != 0 && o.name == "" {
		b.Fail(fmt.Errorf("%s: Named with an empty name", op))
	}
	return o
}

func (o *options) nameOr(b *topology.Builder, prefix string) string {
	if o.name != "" {
		return o.name
	}
	return b.NewName(prefix)
}

// serdesFor returns the key and value serdes for writing s, failing Build
// with a message naming the operation and type when one is unknown.
func serdesFor[K, V any](b *topology.Builder, op string, s dsl.Stream[K, V], o *options) (serde.Serde[K], serde.Serde[V]) {
	ks := dsl.SerdeOr(b, op, "key", o.keySerde, s.KeySerde())
	vs := dsl.SerdeOr(b, op, "value", o.valueSerde, s.ValueSerde())
	var k K
	var v V
	if ks == nil {
		b.Fail(fmt.Errorf("%s: no key serde for key type %T; pass ktable.WithKeySerde", op, k))
	}
	if vs == nil {
		b.Fail(fmt.Errorf("%s: no value serde for value type %T; pass ktable.WithValueSerde", op, v))
	}
	return ks, vs
}
