package join

import (
	"fmt"
	"slices"
	"time"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// Streams joins two streams on their keys within the windows w: each pair of
// a left and a right record with equal keys whose times are within w makes
// one result, joiner(key, left, right), stamped with the later of the two
// times. Kafka Streams' KStream.join(KStream, ValueJoiner, JoinWindows,
// StreamJoined).
//
// Either side's records trigger the join, against the records of the other
// side kept in a window store (two stores, each keeping its side's records
// for w.Size() + w.Grace(), with changelogs). Records with a null key or a
// null value never join: they are dropped, counted and logged
// (topology.Context.SkipRecord). A record older than its side's store keeps
// records (w.Size() + w.Grace() before the latest time in it) joins what
// the other side's store still keeps, as in Kafka Streams, but is not kept
// itself: it is counted and logged as dropped. Results come in the order
// Kafka Streams makes them: a record's partners in order of time, then
// arrival. Stream time, which closes windows, is the task's.
//
// An input whose key may have changed since it was read is repartitioned
// first, through "<name>-left-repartition" and "<name>-right-repartition"
// when the join is named, else through a topic named after the input's node,
// as in Kafka Streams; the two inputs must be co-partitioned, which the app
// checks when it starts (topology.Builder.Copartition).
//
// The same stream may be joined with itself, which takes the two stores
// and join processors of any join unless the builder has
// topology.SingleStoreSelfJoin on (Kafka Streams' single.store.self.join):
// then the join's windowed processor keeps the records in one store, the
// left one's KSTREAM-JOINTHIS-<n>-store ("<name>-this-join-store"), and one
// self-join processor, the join's merge node, joins each record with the
// records kept in its window and with itself (Kafka Streams'
// KStreamKStreamSelfJoin). The results and their order are the two-store
// join's, with two exceptions, as in Kafka Streams: a record whose time is
// exactly one millisecond inside the store's retention behind the latest
// time the join has seen does not join itself (the store keeps it and later
// records join it), and a record dropped as too late, or for a null key or
// value, is counted once instead of twice. Turning the optimization on for
// an application that has run keeps the left store's records (its
// changelog is the same), so records join those of the earlier run; turning
// it off starts the right store without the records of the optimized run,
// which then meet new records as the left side only. Left and outer
// self-joins always keep their stores.
//
// Names follow Kafka Streams: the stores are KSTREAM-JOINTHIS-<n>-store and
// KSTREAM-JOINOTHER-<n>-store, or with [Named] "<name>-this-join-store" and
// "<name>-other-join-store", and their changelogs
// "<applicationID>-<store>-changelog" (cleanup.policy=delete, as Kafka
// Streams sets it for stores that keep duplicates). The result's node is
// KSTREAM-MERGE-<n> or "<name>-merge".
//
// Options: [Named], [WithStoreOptions] (for every store of the join),
// [WithKeySerde] and [WithValueSerdes] where the inputs' serdes are unknown.
// Invalid windows, a nil joiner and options of the wrong types fail
// Builder.Build.
func Streams[K, V1, V2, VR any](left kstream.Stream[K, V1], right kstream.Stream[K, V2], w Windows, joiner func(key K, left V1, right V2) VR, opts ...Option) kstream.Stream[K, VR] {
	return streamsJoin(left, right, w, joiners[K, V1, V2, VR]{inner: joiner}, "Streams", opts)
}

// StreamsLeft is [Streams] as a left join, Kafka Streams' KStream.leftJoin:
// every left record joins as in Streams, and a left record that finds no
// right partner within its window makes one result joiner(key, left, nil),
// once its window has closed (stream time has passed its time + after +
// grace), stamped with its own time. A left record with a null key (and a
// value) makes that result at once, as in Kafka Streams 3.7 and later.
// The pointer the joiner gets is fresh on every call.
//
// Left records waiting for a partner are kept in a third store,
// KSTREAM-OUTERSHARED-<n>-store, or with [Named]
// "<name>-left-shared-join-store"; the right window store is then
// KSTREAM-OUTEROTHER-<n>-store ("<name>-outer-other-join-store").
func StreamsLeft[K, V1, V2, VR any](left kstream.Stream[K, V1], right kstream.Stream[K, V2], w Windows, joiner func(key K, left V1, right *V2) VR, opts ...Option) kstream.Stream[K, VR] {
	return streamsJoin(left, right, w, joiners[K, V1, V2, VR]{left: joiner}, "StreamsLeft", opts)
}

// StreamsOuter is [Streams] as an outer join, Kafka Streams'
// KStream.outerJoin: records of either side that find no partner within
// their window make one result each, joiner(key, left, nil) or
// joiner(key, nil, right), once their window has closed (a left record's at
// its time + after + grace, a right record's at its time + before + grace),
// stamped with their own time. Records of either side with a null key (and
// a value) make that result at once. The pointers the joiner gets are fresh
// on every call.
//
// Unmatched records wait in KSTREAM-OUTERSHARED-<n>-store, or with [Named]
// "<name>-outer-shared-join-store"; the window stores are
// KSTREAM-OUTERTHIS-<n>-store and KSTREAM-OUTEROTHER-<n>-store
// ("<name>-outer-this-join-store", "<name>-outer-other-join-store").
func StreamsOuter[K, V1, V2, VR any](left kstream.Stream[K, V1], right kstream.Stream[K, V2], w Windows, joiner func(key K, left *V1, right *V2) VR, opts ...Option) kstream.Stream[K, VR] {
	return streamsJoin(left, right, w, joiners[K, V1, V2, VR]{outer: joiner}, "StreamsOuter", opts)
}

// joiners holds the user's joiner, of exactly one kind.
type joiners[K, V1, V2, VR any] struct {
	inner func(K, V1, V2) VR
	left  func(K, V1, *V2) VR
	outer func(K, *V1, *V2) VR
}

func (j joiners[K, V1, V2, VR]) missing() bool {
	return j.inner == nil && j.left == nil && j.outer == nil
}

// both joins a matched pair.
func (j joiners[K, V1, V2, VR]) both(k K, l V1, r V2) VR {
	switch {
	case j.inner != nil:
		return j.inner(k, l, r)
	case j.left != nil:
		return j.left(k, l, &r)
	}
	return j.outer(k, &l, &r)
}

// leftAlone joins a left record that found no partner.
func (j joiners[K, V1, V2, VR]) leftAlone(k K, l V1) VR {
	if j.left != nil {
		return j.left(k, l, nil)
	}
	return j.outer(k, &l, nil)
}

// rightAlone joins a right record that found no partner.
func (j joiners[K, V1, V2, VR]) rightAlone(k K, r V2) VR { return j.outer(k, nil, &r) }

// Kafka Streams' name prefixes for the nodes and stores of a stream join.
const (
	prefixWindowed    = "KSTREAM-WINDOWED-"
	prefixJoinThis    = "KSTREAM-JOINTHIS-"
	prefixJoinOther   = "KSTREAM-JOINOTHER-"
	prefixOuterThis   = "KSTREAM-OUTERTHIS-"
	prefixOuterOther  = "KSTREAM-OUTEROTHER-"
	prefixOuterShared = "KSTREAM-OUTERSHARED-"
	prefixMerge       = "KSTREAM-MERGE-"
)

// joinNames are the names of a stream join's nodes and stores, as Kafka
// Streams' KStreamImplJoin makes them.
type joinNames struct {
	thisWindowed, otherWindowed string
	joinThis, joinOther, merge  string
	thisStore, otherStore       string
	outerStore                  string // "" for inner joins
}

func newJoinNames(b *topology.Builder, name string, leftOuter, rightOuter bool) joinNames {
	var n joinNames
	orNew := func(suffix, prefix string) string {
		if name != "" {
			return name + suffix
		}
		return b.NewName(prefix)
	}
	n.thisWindowed = orNew("-this-windowed", prefixWindowed)
	n.otherWindowed = orNew("-other-windowed", prefixWindowed)
	thisSuffix, thisPrefix := "-this-join", prefixJoinThis
	if rightOuter {
		thisSuffix, thisPrefix = "-outer-this-join", prefixOuterThis
	}
	otherSuffix, otherPrefix := "-other-join", prefixJoinOther
	if leftOuter {
		otherSuffix, otherPrefix = "-outer-other-join", prefixOuterOther
	}
	// Kafka Streams draws these two names even when the join is named.
	thisGen, otherGen := b.NewName(thisPrefix), b.NewName(otherPrefix)
	n.joinThis, n.joinOther = thisGen, otherGen
	n.thisStore, n.otherStore = thisGen+"-store", otherGen+"-store"
	if name != "" {
		n.joinThis, n.joinOther = name+thisSuffix, name+otherSuffix
		n.thisStore, n.otherStore = n.joinThis+"-store", n.joinOther+"-store"
	}
	n.merge = orNew("-merge", prefixMerge)
	if leftOuter {
		switch {
		case name != "" && rightOuter:
			n.outerStore = name + "-outer-shared-join-store"
		case name != "":
			n.outerStore = name + "-left-shared-join-store"
		default:
			n.outerStore = prefixOuterShared + thisGen[len(thisPrefix):] + "-store"
		}
	}
	return n
}

// joinSerdes are the serdes a join writes its stores and repartition topics
// with.
type joinSerdes[K, V1, V2 any] struct {
	key   serde.Serde[K]
	left  serde.Serde[V1]
	right serde.Serde[V2]
}

func streamsJoin[K, V1, V2, VR any](left kstream.Stream[K, V1], right kstream.Stream[K, V2], w Windows, j joiners[K, V1, V2, VR], op string, opts []Option) kstream.Stream[K, VR] {
	lc, rc := dsl.Stream[K, V1](left), dsl.Stream[K, V2](right)
	b := lc.Builder()
	if b == nil || rc.Builder() == nil {
		panic("join: " + op + " of the zero kstream.Stream; streams come from kstream.From and from operations on other streams")
	}
	o := collect(b, op, opts, optName|optStore|optSerdes)
	if rc.Builder() != b {
		b.Fail(fmt.Errorf("%s: the two streams come from different builders", op))
	}
	valid := true
	if err := w.Validate(); err != nil {
		b.Fail(fmt.Errorf("%s: %w", op, err))
		valid = false
	}
	if j.missing() {
		b.Fail(fmt.Errorf("%s: nil joiner", op))
	}
	sd := serdesFor(b, op, lc, rc, o)

	// Repartition the inputs whose key may have changed, as Kafka Streams'
	// KStreamImpl.doJoin does; a self-join repartitions its input once.
	leftOuter := j.left != nil || j.outer != nil
	rightOuter := j.outer != nil
	self := lc.Node() == rc.Node()
	if lc.RepartitionRequired() {
		lc = repartitionFor(lc, o.Name, "-left", leftOuter, sd.key, sd.left)
	}
	if rc.RepartitionRequired() {
		if self {
			rc = dsl.NewStream(b, lc.Node(), sd.key, sd.right, false)
		} else {
			rc = repartitionFor(rc, o.Name, "-right", rightOuter, sd.key, sd.right)
		}
	}
	b.Copartition(lc.Node(), rc.Node())

	names := newJoinNames(b, o.Name, leftOuter, rightOuter)
	m := w.millis()
	stores := valid && sd.key != nil && sd.left != nil && sd.right != nil
	if singleStoreSelfJoin(b, self, j.inner != nil) {
		if same, ok := sameValues[V1, V2](); ok {
			return addSelfJoin(b, lc.Node(), names, m, sd, o.StoreOpts, stores, j.inner, same)
		}
	}
	if stores {
		addJoinStores(b, names, m, sd, o.StoreOpts)
	}
	cfg := &joinConfig[K, V1, V2, VR]{w: m, names: names, j: j, leftOuter: leftOuter, rightOuter: rightOuter}

	topology.AddProcessor(b, names.thisWindowed, func() topology.Processor[K, V1, K, V1] {
		return &windowProc[K, V1]{store: names.thisStore, retention: m.retention()}
	}, lc.Node())
	topology.AddProcessor(b, names.otherWindowed, func() topology.Processor[K, V2, K, V2] {
		return &windowProc[K, V2]{store: names.otherStore, retention: m.retention()}
	}, rc.Node())
	topology.AddProcessor(b, names.joinThis, func() topology.Processor[K, V1, K, VR] {
		return newLeftSide(cfg)
	}, names.thisWindowed)
	topology.AddProcessor(b, names.joinOther, func() topology.Processor[K, V2, K, VR] {
		return newRightSide(cfg)
	}, names.otherWindowed)
	topology.AddProcessor(b, names.merge, func() topology.Processor[K, VR, K, VR] {
		return &mergeProc[K, VR]{}
	}, names.joinThis, names.joinOther)
	if stores {
		b.ConnectStores(names.thisWindowed, names.thisStore)
		b.ConnectStores(names.otherWindowed, names.otherStore)
		b.ConnectStores(names.joinThis, names.otherStore)
		b.ConnectStores(names.joinOther, names.thisStore)
		if names.outerStore != "" {
			b.ConnectStores(names.joinThis, names.outerStore)
			b.ConnectStores(names.joinOther, names.outerStore)
		}
	}
	return kstream.Stream[K, VR](dsl.NewStream[K, VR](b, names.merge, sd.key, nil, false))
}

// serdesFor returns the serdes of the join's stores: the options', else the
// inputs', else the builder's, failing Build when one is unknown.
func serdesFor[K, V1, V2 any](b *topology.Builder, op string, l dsl.Stream[K, V1], r dsl.Stream[K, V2], o *dsl.Options) joinSerdes[K, V1, V2] {
	knownKey := l.KeySerde()
	if knownKey == nil {
		knownKey = r.KeySerde()
	}
	sd := joinSerdes[K, V1, V2]{
		key:   dsl.SerdeOr(b, op, "key", o.KeySerde, knownKey),
		left:  dsl.SerdeOr(b, op, "left value", o.LeftSerde, l.ValueSerde()),
		right: dsl.SerdeOr(b, op, "right value", o.RightSerde, r.ValueSerde()),
	}
	return sd
}

// repartitionFor repartitions s for a join, through the internal topic
// "<name><suffix>-repartition" when the join is named, else
// "<node>-repartition", as Kafka Streams names it. A stream joined twice
// without names is repartitioned once, as in Kafka Streams, whose filter
// (keeping null keys or not) the first join decides. As in Kafka Streams 3.7
// and later, an outer side keeps its records with a null key, which the
// sink spreads round-robin and the join turns into results at once; other
// sides drop them, counted and logged, as kstream's Repartition does.
func repartitionFor[K, V any](s dsl.Stream[K, V], name, suffix string, keepNullKeys bool, ks serde.Serde[K], vs serde.Serde[V]) dsl.Stream[K, V] {
	prefix := s.Node()
	if name != "" {
		prefix = name + suffix
	}
	return dsl.RepartitionForState(s, dsl.Repartitioning[K, V]{
		Prefix: prefix, KeySerde: ks, ValueSerde: vs, KeepNullKeys: keepNullKeys,
		DropReason: "null key: the record cannot be repartitioned for the join",
	}, prefix)
}

// addJoinStores declares the join's two window stores, which keep
// duplicates, and for left and outer joins its outer store.
func addJoinStores[K, V1, V2 any](b *topology.Builder, n joinNames, m millis, sd joinSerdes[K, V1, V2], userOpts []state.Option) {
	size := time.Duration(m.storeSize()) * time.Millisecond
	retention := time.Duration(m.retention()) * time.Millisecond
	wopts := joinWindowStoreOptions(userOpts)
	state.AddWindowStore(b, n.thisStore, sd.key, sd.left, size, retention, wopts...)
	state.AddWindowStore(b, n.otherStore, sd.key, sd.right, size, retention, wopts...)
	if n.outerStore != "" {
		// Never cached, as in Kafka Streams: the join reads back what it
		// writes at once.
		kvOpts := append(slices.Clone(userOpts), state.Caching(false))
		state.AddKeyValueStore(b, n.outerStore, outerKeySerde[K]{sd.key},
			outerValuesSerde[V1, V2]{sd.left, sd.right}, kvOpts...)
	}
}

// joinWindowStoreOptions are the options of a join's window stores, which
// keep duplicates and whose changelogs are not compacted, as Kafka Streams
// sets them, with the user's.
func joinWindowStoreOptions(userOpts []state.Option) []state.Option {
	wopts := append([]state.Option{state.ChangelogConfig("cleanup.policy", "delete")}, userOpts...)
	return append(wopts, state.RetainDuplicates())
}
