package dsl

import (
	"fmt"
	"strings"
	"time"

	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// Option configures one DSL operation. kstream.Option, ktable.Option and
// join.Option are aliases of it, so the options of the three packages are
// one type: any of them can be passed to any operation, which takes the
// ones it uses (each documents them) and reports the others at Build.
//
// It is a struct, not an interface, so that passing something else, such
// as a state.Option, fails to compile with "cannot use ... (value of type
// state.Option) as kstream.Option value".
type Option struct {
	kind Kind
	set  func(o *Options)
}

// NewOption returns the option of kind kind, which set applies.
func NewOption(kind Kind, set func(o *Options)) Option { return Option{kind: kind, set: set} }

// Kind is the kind of the option.
func (opt Option) Kind() Kind { return opt.kind }

// Kind identifies an option, so that an operation can check that it was
// given only options it uses. Kinds are bits, so that a set of kinds is
// their union.
type Kind uint32

// The kinds of options, one per option function.
const (
	OptNamed           Kind = 1 << iota // Named
	OptTopics                           // kstream.Topics
	OptExtractor                        // kstream.WithTimestampExtractor
	OptSerdes                           // kstream.WithSerdes
	OptPartitioner                      // kstream.WithPartitioner
	OptStores                           // kstream.WithStores
	OptPartitions                       // kstream.WithPartitions
	OptStoreOptions                     // WithStoreOptions
	OptKeySerde                         // WithKeySerde
	OptValueSerde                       // ktable.WithValueSerde
	OptValueSerdes                      // join.WithValueSerdes
	OptResultSerde                      // join.WithResultSerde
	OptEmitOnClose                      // ktable.EmitOnWindowClose
	OptSourceChangelog                  // ktable.SourceAsChangelog
	OptRetry                            // kstream.WithRetry
	OptVersioned                        // ktable.Versioned
	OptGrace                            // join.WithGracePeriod
	OptConcurrency                      // kstream.WithConcurrency
	OptBatch                            // kstream.WithBatch
	optEnd
)

// kindNames are the names of the option functions, in the order of the
// kinds.
var kindNames = []string{
	"Named", "Topics", "WithTimestampExtractor", "WithSerdes", "WithPartitioner",
	"WithStores", "WithPartitions", "WithStoreOptions", "WithKeySerde",
	"WithValueSerde", "WithValueSerdes", "WithResultSerde", "EmitOnWindowClose",
	"SourceAsChangelog", "WithRetry", "Versioned", "WithGracePeriod", "WithConcurrency", "WithBatch",
}

// String names the options of k, separated by commas.
func (k Kind) String() string {
	var names []string
	for i, bit := 0, Kind(1); bit < optEnd; i, bit = i+1, bit<<1 {
		if k&bit != 0 {
			names = append(names, kindNames[i])
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf("Kind(%#x)", uint32(k))
	}
	return strings.Join(names, ", ")
}

// Options are the settings the options given to one operation make.
// Options of types the operation must check (serdes, extractors,
// partitioners of its key and value types) are kept as any, and checked by
// the operation.
type Options struct {
	// Given is the union of the kinds of the options given.
	Given Kind
	// Name is the name given with Named, or, when the operation makes a
	// default name (see Collect), that name.
	Name        string
	Topics      []string
	Extractor   any // topology.TimestampExtractor[K, V]
	Serdes      any // kstream's serdes of a key and value type
	Partitioner any // topology.Partitioner[K, V]
	Stores      []string
	Partitions  int
	StoreOpts   []state.Option
	KeySerde    any // serde.Serde[K]
	ValueSerde  any // serde.Serde[V]
	LeftSerde   any // serde.Serde[V1]
	RightSerde  any // serde.Serde[V2]
	ResultSerde any // serde.Serde[VR]
	Retry       retry.Policy
	// History is the history retention Versioned gives.
	History time.Duration
	// Grace is the grace period WithGracePeriod gives.
	Grace time.Duration
	// Concurrency and Ordering of kstream.WithConcurrency.
	Concurrency int
	Ordering    topology.Ordering
	// BatchRecords and BatchWait of kstream.WithBatch.
	BatchRecords int
	BatchWait    time.Duration
}

// Named names the operation's node, or, for operations with state, the
// state the operation keeps (each operation documents what the name
// becomes).
func Named(name string) Option {
	return NewOption(OptNamed, func(o *Options) { o.Name = name })
}

// WithStoreOptions passes options to the stores an operation creates.
func WithStoreOptions(opts ...state.Option) Option {
	return NewOption(OptStoreOptions, func(o *Options) { o.StoreOpts = append(o.StoreOpts, opts...) })
}

// WithKeySerde sets the key serde an operation writes keys with.
func WithKeySerde(s any) Option {
	return NewOption(OptKeySerde, func(o *Options) { o.KeySerde = s })
}

// Collect applies opts for the operation op, which takes the options in
// accepts (and Named, which every operation takes). When gen is not nil, it
// makes the operation's default name, which Collect calls when no Named is
// given (or Named gives an empty name), and errors name the operation by op
// and its name; otherwise they name it by op, and Options.Name is "" unless
// Named set it. Mistakes (a zero Option, an empty Named, options op does not
// take) are recorded on b for Build to report.
func Collect(b *topology.Builder, op string, accepts Kind, gen func() string, opts []Option) *Options {
	o := &Options{}
	zeros := 0
	for _, opt := range opts {
		if opt.set == nil {
			zeros++
			continue
		}
		o.Given |= opt.kind
		opt.set(o)
	}
	emptyName := o.Given&OptNamed != 0 && o.Name == ""
	if o.Name == "" && gen != nil {
		o.Name = gen()
	}
	label := op
	if gen != nil {
		label = fmt.Sprintf("%s %q", op, o.Name)
	}
	if emptyName {
		b.Fail(fmt.Errorf("%s: Named with an empty name", label))
	}
	if zeros > 0 {
		b.Fail(fmt.Errorf("%s: zero Option: options come from Named, With... and the other option functions of kstream, ktable and join", label))
	}
	accepts |= OptNamed
	for bit := Kind(1); bit < optEnd; bit <<= 1 {
		if o.Given&bit != 0 && accepts&bit == 0 {
			b.Fail(fmt.Errorf("%s: option %s does not apply (%s takes %s)", label, bit, op, accepts))
		}
	}
	return o
}

// NameOr returns the name given with Named, or one the builder makes from
// prefix.
func (o *Options) NameOr(b *topology.Builder, prefix string) string {
	if o.Name != "" {
		return o.Name
	}
	return b.NewName(prefix)
}
