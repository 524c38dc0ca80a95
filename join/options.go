package join

import (
	"fmt"
	"strings"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// Option configures one join. Each join documents the options it takes;
// options a join does not take are reported by Builder.Build.
type Option interface{ applyTo(o *options) }

type optKind int

const (
	optName optKind = 1 << iota
	optStore
	optSerdes
	optResultSerde
)

var optNames = []struct {
	k    optKind
	name string
}{
	{optName, "Named"},
	{optStore, "WithStoreOptions"},
	{optSerdes, "WithKeySerde/WithValueSerdes"},
	{optResultSerde, "WithResultSerde"},
}

func (k optKind) String() string {
	var names []string
	for _, n := range optNames {
		if k&n.k != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}

type options struct {
	op          string
	name        string
	storeOpts   []state.Option
	keySerde    any // serde.Serde[K]
	leftSerde   any // serde.Serde[V1]
	rightSerde  any // serde.Serde[V2]
	resultSerde any // serde.Serde[VR]
	set         optKind
}

type option struct {
	kind optKind
	fn   func(o *options)
}

func (opt option) applyTo(o *options) { o.set |= opt.kind; opt.fn(o) }

// Named names the join. The join's processors, stores, and so their
// changelogs and any repartition topics, take their names from it, so a
// named join keeps its state when the topology around it changes.
func Named(name string) Option {
	return option{optName, func(o *options) { o.name = name }}
}

// WithStoreOptions passes options to the stores the join creates, such as
// state.InMemory() or state.Logging(false).
func WithStoreOptions(opts ...state.Option) Option {
	return option{optStore, func(o *options) { o.storeOpts = append(o.storeOpts, opts...) }}
}

// WithKeySerde sets the key serde the join writes keys with (to its stores
// and repartition topics) where it cannot tell it from its inputs.
func WithKeySerde[K any](s serde.Serde[K]) Option {
	return option{optSerdes, func(o *options) { o.keySerde = s }}
}

// WithValueSerdes sets the serdes the join writes the left and right values
// with, where it cannot tell them from its inputs. A nil serde keeps the
// input's.
func WithValueSerdes[V1, V2 any](left serde.Serde[V1], right serde.Serde[V2]) Option {
	return option{optSerdes, func(o *options) {
		if left != nil {
			o.leftSerde = left
		}
		if right != nil {
			o.rightSerde = right
		}
	}}
}

// WithResultSerde sets the serde of the join's result values, for joins
// whose result is written to a store or topic: a materialized table join,
// a foreign-key join, or a later To or repartition of the result. Without
// it, serde.Default for the result type is used.
func WithResultSerde[VR any](s serde.Serde[VR]) Option {
	return option{optResultSerde, func(o *options) { o.resultSerde = s }}
}

// collect applies opts for the join op, which takes the options in accepts.
// Mistakes are recorded on b for Build to report.
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

// nameOr returns the join's name, or one the builder makes from prefix.
func (o *options) nameOr(b *topology.Builder, prefix string) string {
	if o.name != "" {
		return o.name
	}
	return b.NewName(prefix)
}
