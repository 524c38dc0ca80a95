package join_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// The foreign-key join tests replay KTableKTableForeignKeyJoinIntegrationTest:
// left values are "<value>|<foreign key>", the joiner makes "(left,right)",
// and each step checks the output as a map of the last value per key, as
// Kafka's readKeyValuesToMap does, and, when the result is materialized,
// the store.

type fkStep struct {
	topic string // "left" or "right"
	key   string
	value string // "null" pipes a tombstone
	ts    int64
	out   map[string]string // "null" for a tombstone
	store map[string]string // the result store, when materialized
	// rejoin is the output of the rejoin with left, when there is one.
	rejoin map[string]string
}

type fkCase struct {
	leftJoin, materialized, rejoin bool
	// leftVersioned and rightVersioned make the tables versioned
	// (ktable.Versioned), as KTableKTableForeignKeyJoinIntegrationTest's
	// versionedData does.
	leftVersioned, rightVersioned bool
}

func (c fkCase) String() string {
	return fmt.Sprintf("leftJoin=%v/materialized=%v/rejoin=%v/leftVersioned=%v/rightVersioned=%v",
		c.leftJoin, c.materialized, c.rejoin, c.leftVersioned, c.rightVersioned)
}

// fkCases are KTableKTableForeignKeyJoinIntegrationTest's testCases: its
// data (with rejoin when the test takes it) and its versionedData, which
// makes either table, or both, versioned.
func fkCases(rejoin bool) []fkCase {
	var cs []fkCase
	for _, l := range []bool{true, false} {
		for _, m := range []bool{true, false} {
			cs = append(cs, fkCase{leftJoin: l, materialized: m})
			if rejoin {
				cs = append(cs, fkCase{leftJoin: l, materialized: m, rejoin: true})
			}
			for _, v := range [][2]bool{{true, true}, {true, false}, {false, true}} {
				cs = append(cs, fkCase{leftJoin: l, materialized: m, leftVersioned: v[0], rightVersioned: v[1]})
			}
		}
	}
	return cs
}

// fkTableOptions makes a table versioned for 5 minutes, as Kafka's test
// does, when versioned.
func fkTableOptions(versioned bool) []ktable.Option {
	if versioned {
		return []ktable.Option{ktable.Versioned(5 * time.Minute)}
	}
	return nil
}

func splitFK(v string) string { return strings.Split(v, "|")[1] }

func fkJoiner(l, r string) string { return "(" + l + "," + r + ")" }

// fkTopology is KTableKTableForeignKeyJoinIntegrationTest.getTopology.
func fkTopology(t *testing.T, c fkCase, extract func(string) *string) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	left := ktable.From(b, "left", serde.String(), serde.String(), fkTableOptions(c.leftVersioned)...)
	right := ktable.From(b, "right", serde.Ptr(serde.String()), serde.String(), fkTableOptions(c.rightVersioned)...)
	var opts []join.Option
	if c.materialized {
		opts = append(opts, join.Named("store"))
	}
	var joined ktable.Table[string, string]
	if c.leftJoin {
		joined = join.ForeignKeyLeft(left, right, extract, func(l string, r *string) string { return fkJoiner(l, orNullStr(r)) }, opts...)
	} else {
		joined = join.ForeignKey(left, right, extract, fkJoiner, opts...)
	}
	joined.ToStream().To("out")
	if c.rejoin {
		join.TablesLeft(joined, left, func(_ string, j string, l *string) string {
			return "rejoin(" + j + "," + orNullStr(l) + ")"
		}).ToStream().To("rejoin-out")
	}
	return mustTopology(t, b)
}

func ptrFK(v string) *string { fk := splitFK(v); return &fk }

func replayFK(t *testing.T, c fkCase, extract func(string) *string, steps []fkStep) *testutil.Driver {
	t.Helper()
	d := testutil.NewDriver(t, fkTopology(t, c, extract), testutil.Config{})
	left := testutil.NewInputTopic(d, "left", serde.String(), serde.String())
	right := testutil.NewInputTopic(d, "right", serde.Ptr(serde.String()), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	var rejoin *testutil.OutputTopic[string, string]
	if c.rejoin {
		rejoin = testutil.NewOutputTopic(d, "rejoin-out", serde.String(), serde.String())
	}
	for i, s := range steps {
		switch s.topic {
		case "left":
			r := topology.Record[string, string]{Key: s.key, Value: s.value, Timestamp: time.UnixMilli(s.ts)}
			if s.value == "null" {
				r = topology.Tombstone(r)
			}
			left.PipeRecords(r)
		case "right":
			k := s.key
			r := topology.Record[*string, string]{Key: &k, Value: s.value, Timestamp: time.UnixMilli(s.ts)}
			if s.value == "null" {
				r = topology.Tombstone(r)
			}
			right.PipeRecords(r)
		}
		where := fmt.Sprintf("step %d (%s %s=%s)", i, s.topic, s.key, s.value)
		wantMap(t, where+" output", lastPerKey(out), s.out)
		if c.rejoin {
			wantMap(t, where+" rejoin output", lastPerKey(rejoin), s.rejoin)
		}
		if c.materialized {
			got := map[string]string{}
			for _, kv := range testutil.KeyValueStore[string, string](d, "store").All() {
				got[kv.Key] = kv.Value
			}
			wantMap(t, where+" store", got, s.store)
		}
	}
	return d
}

func lastPerKey(out *testutil.OutputTopic[string, string]) map[string]string {
	m := map[string]string{}
	for _, r := range out.ReadAll() {
		if r.NullValue {
			m[r.Key] = "null"
		} else {
			m[r.Key] = r.Value
		}
	}
	return m
}

func wantMap[V comparable](t *testing.T, what string, got, want map[string]V) {
	t.Helper()
	if want == nil {
		want = map[string]V{}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// pick returns a for the left join and b for the inner join.
func leftOr[T any](leftJoin bool, a, b T) T {
	if leftJoin {
		return a
	}
	return b
}

type fkMap = map[string]string

func TestForeignKeyJoinFromLeftThenDeleteLeftEntity(t *testing.T) {
	// KTableKTableForeignKeyJoinIntegrationTest.doJoinFromLeftThenDeleteLeftEntity
	for _, c := range fkCases(true) {
		t.Run(c.String(), func(t *testing.T) {
			replayFK(t, c, ptrFK, []fkStep{
				{topic: "right", key: "rhs1", value: "rhsValue1", ts: 0},
				{topic: "right", key: "rhs2", value: "rhsValue2", ts: 1},
				{topic: "right", key: "rhs3", value: "rhsValue3", ts: 2},
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs1", ts: 3,
					out:    fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)"},
					rejoin: fkMap{"lhs1": "rejoin((lhsValue1|rhs1,rhsValue1),lhsValue1|rhs1)"},
					store:  fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)"}},
				{topic: "left", key: "lhs2", value: "lhsValue2|rhs2", ts: 4,
					out:    fkMap{"lhs2": "(lhsValue2|rhs2,rhsValue2)"},
					rejoin: fkMap{"lhs2": "rejoin((lhsValue2|rhs2,rhsValue2),lhsValue2|rhs2)"},
					store:  fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)", "lhs2": "(lhsValue2|rhs2,rhsValue2)"}},
				{topic: "left", key: "lhs3", value: "lhsValue3|rhs1", ts: 5,
					out:    fkMap{"lhs3": "(lhsValue3|rhs1,rhsValue1)"},
					rejoin: fkMap{"lhs3": "rejoin((lhsValue3|rhs1,rhsValue1),lhsValue3|rhs1)"},
					store:  fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)", "lhs2": "(lhsValue2|rhs2,rhsValue2)", "lhs3": "(lhsValue3|rhs1,rhsValue1)"}},
				{topic: "left", key: "lhs1", value: "null", ts: 6,
					out:    fkMap{"lhs1": "null"},
					rejoin: fkMap{"lhs1": "null"},
					store:  fkMap{"lhs2": "(lhsValue2|rhs2,rhsValue2)", "lhs3": "(lhsValue3|rhs1,rhsValue1)"}},
			})
		})
	}
}

func TestForeignKeyJoinFromRightThenDeleteRightEntity(t *testing.T) {
	// KTableKTableForeignKeyJoinIntegrationTest.doJoinFromRightThenDeleteRightEntity
	for _, c := range fkCases(false) {
		t.Run(c.String(), func(t *testing.T) {
			l := c.leftJoin
			replayFK(t, c, ptrFK, []fkStep{
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs1", ts: 0,
					out: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,null)"}, nil), store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,null)"}, nil)},
				{topic: "left", key: "lhs2", value: "lhsValue2|rhs2", ts: 1,
					out:   leftOr(l, fkMap{"lhs2": "(lhsValue2|rhs2,null)"}, nil),
					store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,null)", "lhs2": "(lhsValue2|rhs2,null)"}, nil)},
				{topic: "left", key: "lhs3", value: "lhsValue3|rhs1", ts: 2,
					out:   leftOr(l, fkMap{"lhs3": "(lhsValue3|rhs1,null)"}, nil),
					store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,null)", "lhs2": "(lhsValue2|rhs2,null)", "lhs3": "(lhsValue3|rhs1,null)"}, nil)},
				{topic: "right", key: "rhs1", value: "rhsValue1", ts: 3,
					out: fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)", "lhs3": "(lhsValue3|rhs1,rhsValue1)"},
					store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)", "lhs2": "(lhsValue2|rhs2,null)", "lhs3": "(lhsValue3|rhs1,rhsValue1)"},
						fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)", "lhs3": "(lhsValue3|rhs1,rhsValue1)"})},
				{topic: "right", key: "rhs2", value: "rhsValue2", ts: 4,
					out:   fkMap{"lhs2": "(lhsValue2|rhs2,rhsValue2)"},
					store: fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)", "lhs2": "(lhsValue2|rhs2,rhsValue2)", "lhs3": "(lhsValue3|rhs1,rhsValue1)"}},
				{topic: "right", key: "rhs3", value: "rhsValue3", ts: 5,
					store: fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)", "lhs2": "(lhsValue2|rhs2,rhsValue2)", "lhs3": "(lhsValue3|rhs1,rhsValue1)"}},
				{topic: "right", key: "rhs1", value: "null", ts: 6,
					out: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,null)", "lhs3": "(lhsValue3|rhs1,null)"}, fkMap{"lhs1": "null", "lhs3": "null"}),
					store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,null)", "lhs2": "(lhsValue2|rhs2,rhsValue2)", "lhs3": "(lhsValue3|rhs1,null)"},
						fkMap{"lhs2": "(lhsValue2|rhs2,rhsValue2)"})},
			})
		})
	}
}

func TestForeignKeyJoinDeletes(t *testing.T) {
	for _, c := range fkCases(false) {
		l := c.leftJoin
		// KTableKTableForeignKeyJoinIntegrationTest.shouldEmitTombstoneWhenDeletingNonJoiningRecords
		t.Run("shouldEmitTombstoneWhenDeletingNonJoiningRecords/"+c.String(), func(t *testing.T) {
			replayFK(t, c, ptrFK, []fkStep{
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs1", ts: 0,
					out: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,null)"}, nil), store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,null)"}, nil)},
				{topic: "left", key: "lhs1", value: "null", ts: 1, out: fkMap{"lhs1": "null"}},
				{topic: "left", key: "lhs1", value: "null", ts: 2},
			})
		})
		// KTableKTableForeignKeyJoinIntegrationTest.shouldNotEmitTombstonesWhenDeletingNonExistingRecords
		t.Run("shouldNotEmitTombstonesWhenDeletingNonExistingRecords/"+c.String(), func(t *testing.T) {
			replayFK(t, c, ptrFK, []fkStep{{topic: "left", key: "lhs1", value: "null", ts: 0}})
		})
	}
}

func TestForeignKeyJoinForeignKeyChanges(t *testing.T) {
	for _, c := range fkCases(false) {
		l := c.leftJoin
		// KTableKTableForeignKeyJoinIntegrationTest.joinShouldProduceNullsWhenValueHasNonMatchingForeignKey
		t.Run("joinShouldProduceNullsWhenValueHasNonMatchingForeignKey/"+c.String(), func(t *testing.T) {
			replayFK(t, c, ptrFK, []fkStep{
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs1", ts: 0,
					out: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,null)"}, nil), store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs1,null)"}, nil)},
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs2", ts: 1,
					out: fkMap{"lhs1": leftOr(l, "(lhsValue1|rhs2,null)", "null")}, store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs2,null)"}, nil)},
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs3", ts: 2,
					out: fkMap{"lhs1": leftOr(l, "(lhsValue1|rhs3,null)", "null")}, store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs3,null)"}, nil)},
				{topic: "right", key: "rhs1", value: "rhsValue1", ts: 3, store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs3,null)"}, nil)},
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs1", ts: 4,
					out: fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)"}, store: fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)"}},
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs2", ts: 5,
					out: fkMap{"lhs1": leftOr(l, "(lhsValue1|rhs2,null)", "null")}, store: leftOr(l, fkMap{"lhs1": "(lhsValue1|rhs2,null)"}, nil)},
			})
		})
		// KTableKTableForeignKeyJoinIntegrationTest.shouldUnsubscribeOldForeignKeyIfLeftSideIsUpdated
		t.Run("shouldUnsubscribeOldForeignKeyIfLeftSideIsUpdated/"+c.String(), func(t *testing.T) {
			replayFK(t, c, ptrFK, []fkStep{
				{topic: "right", key: "rhs1", value: "rhsValue1", ts: 0},
				{topic: "right", key: "rhs2", value: "rhsValue2", ts: 1},
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs1", ts: 2,
					out: fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)"}, store: fkMap{"lhs1": "(lhsValue1|rhs1,rhsValue1)"}},
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs2", ts: 3,
					out: fkMap{"lhs1": "(lhsValue1|rhs2,rhsValue2)"}, store: fkMap{"lhs1": "(lhsValue1|rhs2,rhsValue2)"}},
				{topic: "right", key: "rhs1", value: "rhsValue1Delta", ts: 4, store: fkMap{"lhs1": "(lhsValue1|rhs2,rhsValue2)"}},
			})
		})
	}
}

func TestForeignKeyLeftJoinNullForeignKey(t *testing.T) {
	for _, m := range []bool{true, false} {
		c := fkCase{leftJoin: true, materialized: m}
		// KTableKTableForeignKeyJoinIntegrationTest.shouldEmitRecordOnNullForeignKeyForLeftJoins
		t.Run("shouldEmitRecordOnNullForeignKeyForLeftJoins/"+c.String(), func(t *testing.T) {
			replayFK(t, c, func(string) *string { return nil }, []fkStep{
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs1", ts: 0,
					out: fkMap{"lhs1": "(lhsValue1|rhs1,null)"}, store: fkMap{"lhs1": "(lhsValue1|rhs1,null)"}},
			})
		})
		// KTableKTableForeignKeyJoinIntegrationTest.shouldEmitRecordWhenOldAndNewFkDiffer
		t.Run("shouldEmitRecordWhenOldAndNewFkDiffer/"+c.String(), func(t *testing.T) {
			extract := func(v string) *string {
				if fk := splitFK(v); fk != "returnNull" {
					return &fk
				}
				return nil
			}
			d := replayFK(t, c, extract, []fkStep{
				{topic: "left", key: "lhs1", value: "lhsValue1|rhs1", ts: 0,
					out: fkMap{"lhs1": "(lhsValue1|rhs1,null)"}, store: fkMap{"lhs1": "(lhsValue1|rhs1,null)"}},
				{topic: "left", key: "lhs1", value: "lhsValue1|returnNull", ts: 0,
					out: fkMap{"lhs1": "(lhsValue1|returnNull,null)"}, store: fkMap{"lhs1": "(lhsValue1|returnNull,null)"}},
			})
			// The subscription of lhs1 to rhs1 is gone.
			name := "store"
			if !m {
				name = "KTABLE-FK-JOIN-0000000006"
			}
			if subs := testutil.KeyValueStore[[]byte, []byte](d, name+"-subscription-store").All(); len(subs) != 0 {
				t.Fatalf("subscriptions left: %q", subs)
			}
		})
	}
}

// The foreign-key join does not need co-partitioned tables: subscriptions
// go to the right row's partition, responses back to the left row's. The
// left topic has 3 partitions, the right one 2.
func TestForeignKeyAcrossPartitionings(t *testing.T) {
	b := topology.NewBuilder()
	orders := ktable.From(b, "orders", serde.String(), serde.String())
	customers := ktable.From(b, "customers", serde.String(), serde.String())
	join.ForeignKey(orders, customers, splitFK, func(o, c string) string { return o + " for " + c }, join.Named("orders-customers")).
		ToStream().To("out")
	d := testutil.NewDriver(t, mustTopology(t, b), testutil.Config{Partitions: map[string]int{"orders": 3, "customers": 2}})
	o := testutil.NewInputTopic(d, "orders", serde.String(), serde.String())
	c := testutil.NewInputTopic(d, "customers", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	for i := range 4 {
		c.Pipe(fmt.Sprint("c", i), fmt.Sprint("customer ", i))
	}
	for i := range 12 {
		o.Pipe(fmt.Sprint("o", i), fmt.Sprintf("order %d|c%d", i, i%4))
	}
	if n := len(lastPerKey(out)); n != 12 {
		t.Fatalf("%d orders joined, want 12", n)
	}
	c.Pipe("c1", "renamed 1")
	want := fkMap{"o1": "order 1|c1 for renamed 1", "o5": "order 5|c1 for renamed 1", "o9": "order 9|c1 for renamed 1"}
	wantMap(t, "after renaming c1", lastPerKey(out), want)
	responses := testutil.NewOutputTopic(d, "test-orders-customers-subscription-response-topic", serde.String(), serde.Bytes()).ReadAll()
	parts := map[int32]bool{}
	for _, r := range responses {
		parts[r.Partition] = true
		if want := engine.KeyPartition([]byte(r.Key), 3); r.Partition != want {
			t.Errorf("response for %s in partition %d, want the order's %d", r.Key, r.Partition, want)
		}
	}
	if len(responses) != 15 || len(parts) != 3 {
		t.Fatalf("%d responses in partitions %v, want 15 in all 3", len(responses), parts)
	}
	store := testutil.KeyValueStore[string, string](d, "orders-customers")
	if v, ok := store.Get("o9"); !ok || v != "order 9|c1 for renamed 1" {
		t.Fatalf("store[o9] = %q, %v", v, ok)
	}
}

// Tables without a store are materialized for the join: a filtered left
// table, whose filtered-out rows delete their results, and a mapped right
// table.
func TestForeignKeyUnmaterializedTables(t *testing.T) {
	b := topology.NewBuilder()
	orders := ktable.From(b, "orders", serde.String(), serde.String()).
		Filter(func(_ string, v string) bool { return !strings.HasPrefix(v, "cancelled") })
	customers := ktable.MapValues(ktable.From(b, "customers", serde.String(), serde.String()),
		func(_ string, v string) string { return strings.ToUpper(v) }, ktable.WithValueSerde(serde.String()))
	join.ForeignKey(orders, customers, splitFK, fkJoiner, join.Named("j")).ToStream().To("out")
	d := testutil.NewDriver(t, mustTopology(t, b), testutil.Config{})
	o := testutil.NewInputTopic(d, "orders", serde.String(), serde.String())
	c := testutil.NewInputTopic(d, "customers", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	c.Pipe("c1", "ann")
	o.Pipe("o1", "book|c1")
	wantMap(t, "joined", lastPerKey(out), fkMap{"o1": "(book|c1,ANN)"})
	c.Pipe("c1", "anne")
	wantMap(t, "renamed", lastPerKey(out), fkMap{"o1": "(book|c1,ANNE)"})
	o.Pipe("o1", "cancelled|c1")
	wantMap(t, "cancelled", lastPerKey(out), fkMap{"o1": "null"})
	for _, store := range []string{"j-left-store", "j-right-store"} {
		if !slices.Contains(d.ProducedTopics(), "test-"+store+"-changelog") {
			t.Errorf("no changelog of %s among %q", store, d.ProducedTopics())
		}
	}
}
