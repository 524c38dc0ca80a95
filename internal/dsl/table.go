package dsl

import (
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Change is one update of a table row: the row's value after and before.
// HasNew is false when the update deletes the row; HasOld is false when the
// row did not exist before. ktable.Change is an alias of it.
type Change[V any] struct {
	New    V
	Old    V
	HasNew bool
	HasOld bool
	// OutOfOrder marks an update of a versioned table whose timestamp is
	// older than the row's latest version (Kafka Streams' Change with
	// isLatest false): it changes the table's history, not its current
	// row, whose value Old is. Operations that keep or join current rows
	// (table-table and foreign-key joins, GroupTableBy,
	// TransformValues) drop it; Filter and MapValues pass the mark on.
	OutOfOrder bool
}

// Table is a typed handle on a table: the node whose output is the stream
// of the table's row updates, the serdes of its keys and values, and the
// store holding its rows when it is materialized.
//
// ktable.Table[K, V] is declared as dsl.Table[K, V], so that package join
// reaches a table's parts by conversion while users see an opaque type.
type Table[K, V any] struct {
	changes    Stream[K, Change[V]]
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	store      string
	// windowClose is how long after its end a window of the table
	// closes, when hasWindows says the table carries the windows of the
	// windowed aggregation it comes from.
	windowClose time.Duration
	hasWindows  bool
	// history is the history retention of the table's versions, when
	// versioned says its rows are kept in a versioned store, or it was
	// made by Filter or MapValues from a table that is.
	history   time.Duration
	versioned bool
}

// NewTable returns a handle on the table whose updates changes carries.
// Serdes may be nil when unknown; store is the name of a key-value store
// of state.Timestamped[V] holding the table's current rows, or "" when the
// table is not materialized.
func NewTable[K, V any](changes Stream[K, Change[V]], ks serde.Serde[K], vs serde.Serde[V], store string) Table[K, V] {
	return Table[K, V]{changes: changes, keySerde: ks, valueSerde: vs, store: store}
}

// Changes is the stream of the table's row updates.
func (t Table[K, V]) Changes() Stream[K, Change[V]] { return t.changes }

// Builder is the builder the table's node belongs to.
func (t Table[K, V]) Builder() *topology.Builder { return t.changes.Builder() }

// Node is the name of the node whose output is the table's updates.
func (t Table[K, V]) Node() string { return t.changes.Node() }

// KeySerde is the key serde known for the table, or nil.
func (t Table[K, V]) KeySerde() serde.Serde[K] { return t.keySerde }

// ValueSerde is the value serde known for the table, or nil.
func (t Table[K, V]) ValueSerde() serde.Serde[V] { return t.valueSerde }

// Store is the name of the store holding the table's rows, or "" when the
// table is not materialized.
func (t Table[K, V]) Store() string { return t.store }

// WindowClose returns how long after its end a window of the table closes,
// and whether the table carries its windows: a windowed aggregation's table
// does (its grace, or gap + grace for sessions), and so do the tables made
// from one with CarryWindows.
func (t Table[K, V]) WindowClose() (time.Duration, bool) { return t.windowClose, t.hasWindows }

// WithWindowClose returns t carrying windows that close d after their end.
func (t Table[K, V]) WithWindowClose(d time.Duration) Table[K, V] {
	t.windowClose, t.hasWindows = d, true
	return t
}

// CarryWindows returns to with the windows from carries, if it carries
// any: for the tables an operation makes from another, keeping its keys.
func CarryWindows[K, V, V2 any](from Table[K, V], to Table[K, V2]) Table[K, V2] {
	to.windowClose, to.hasWindows = from.windowClose, from.hasWindows
	return to
}

// Versioned returns the history retention of the table's versions, and
// whether the table is versioned: its rows are kept in a versioned store
// (state.AddVersionedKeyValueStore), or it was made from a table that is by
// operations that keep its versions (Filter, MapValues), whose updates
// carry Change.OutOfOrder.
func (t Table[K, V]) Versioned() (time.Duration, bool) { return t.history, t.versioned }

// WithVersions returns t as a versioned table whose versions are kept for
// history.
func (t Table[K, V]) WithVersions(history time.Duration) Table[K, V] {
	t.history, t.versioned = history, true
	return t
}

// CarryVersions returns to with the versioning of from, if it is
// versioned: for the tables Filter and MapValues make from another.
func CarryVersions[K, V, V2 any](from Table[K, V], to Table[K, V2]) Table[K, V2] {
	to.history, to.versioned = from.history, from.versioned
	return to
}
