package ktable_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// tsAt is a timestamp of n milliseconds after the epoch.
func tsAt(n int64) time.Time { return time.UnixMilli(n) }

// readOutputs reads out's records as "key:value@ms", a tombstone's value as
// "null", as Kafka's tests print KeyValueTimestamp.
func readOutputs[K, V any](out *testutil.OutputTopic[K, V]) []string {
	var got []string
	for _, r := range out.ReadAll() {
		v := fmt.Sprint(r.Value)
		if r.NullValue {
			v = "null"
		}
		k := fmt.Sprint(r.Key)
		if p, ok := any(r.Key).(*string); ok && p != nil {
			k = *p
		}
		got = append(got, fmt.Sprintf("%s:%s@%d", k, v, r.Timestamp.UnixMilli()))
	}
	return got
}

// pipeDelete pipes a tombstone for key. (InputTopic.PipeRecords ignores
// topology.Tombstone and sends the zero value's encoding, so a tombstone
// needs PipeRaw.)
func pipeDelete[V any](t *testing.T, in *testutil.InputTopic[string, V], key string, ts time.Time) {
	t.Helper()
	if err := in.PipeRaw([]byte(key), nil, ts); err != nil {
		t.Fatalf("pipe tombstone for %q: %v", key, err)
	}
}

// uncachedRows keeps the rows of a table read from a topic out of the record
// cache. testutil's driver loses the records a cache flush forwards into a
// repartition topic during its commit, so tests with a cache keep the
// tables upstream of a GroupTableBy uncachedRows; the aggregation downstream
// still caches.
var uncachedRows = ktable.WithStoreOptions(state.Caching(false))

func sameList(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func mustBuild(t *testing.T, b *topology.Builder) *topology.Topology {
	t.Helper()
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// regionCounts is users (user → region) regrouped by region and counted.
func regionCounts(t *testing.T, opts ...ktable.Option) *topology.Topology {
	b := topology.NewBuilder()
	users := ktable.From(b, "users", serde.String(), serde.String(), uncachedRows)
	byRegion := ktable.GroupTableBy(users, func(user, region string) (string, string) { return region, user }, opts...)
	byRegion.Count(ktable.Named("region-counts")).ToStream().To("counts")
	return mustBuild(t, b)
}

// TestGroupTableByMovesKeyBetweenGroups is the acceptance test of table
// re-aggregation: a row that changes group is subtracted from its old group
// and added to its new one.
func TestGroupTableByMovesKeyBetweenGroups(t *testing.T) {
	for _, cache := range []int64{0, 1 << 20} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) {
			d := testutil.NewDriver(t, regionCounts(t), testutil.Config{CacheMaxBytes: cache})
			in := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
			out := testutil.NewOutputTopic(d, "counts", serde.String(), serde.Int64())
			in.PipeAt("alice", "eu", tsAt(1))
			in.PipeAt("bob", "eu", tsAt(2))
			in.PipeAt("carol", "us", tsAt(3))
			sameList(t, "initial counts", readOutputs(out), "eu:1@1", "eu:2@2", "us:1@3")

			in.PipeAt("alice", "us", tsAt(4)) // alice moves
			sameList(t, "move", readOutputs(out), "eu:1@4", "us:2@4")

			in.PipeAt("alice", "us", tsAt(5)) // same group: one update, no transient state
			sameList(t, "update in place", readOutputs(out), "us:2@5")

			view := testutil.KeyValueStore[string, int64](d, "region-counts")
			for region, want := range map[string]int64{"eu": 1, "us": 2} {
				if n, ok := view.Get(region); !ok || n != want {
					t.Fatalf("store: %s = %d, %v; want %d", region, n, ok, want)
				}
			}
		})
	}
}

// TestGroupedTableCountWithDeletes counts rows per group through updates
// and deletes: a tombstone upstream removes the row's contribution, and a
// group left empty keeps a count of 0, as in Kafka Streams.
func TestGroupedTableCountWithDeletes(t *testing.T) {
	d := testutil.NewDriver(t, regionCounts(t), testutil.Config{})
	in := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "counts", serde.String(), serde.Int64())
	in.PipeAt("alice", "eu", tsAt(1))
	in.PipeAt("bob", "us", tsAt(2))
	in.PipeAt("carol", "us", tsAt(3))
	pipeDelete(t, in, "bob", tsAt(4))
	pipeDelete(t, in, "alice", tsAt(5))
	// Deleting an absent row changes nothing downstream.
	pipeDelete(t, in, "nobody", tsAt(6))
	in.PipeAt("alice", "us", tsAt(7))
	sameList(t, "counts", readOutputs(out),
		"eu:1@1", "us:1@2", "us:2@3",
		"us:1@4", // bob deleted
		"eu:0@5", // alice deleted: eu is empty but stays, at 0
		"us:2@7")
}

// sumTopology sums amounts (account → "region:amount") per region with
// Reduce.
func sumTopology(t *testing.T) *topology.Topology {
	b := topology.NewBuilder()
	accounts := ktable.From(b, "accounts", serde.String(), serde.String())
	byRegion := ktable.GroupTableBy(accounts, func(_ string, v string) (string, int64) {
		region, amount, _ := strings.Cut(v, ":")
		var n int64
		fmt.Sscan(amount, &n)
		return region, n
	})
	byRegion.Reduce(
		func(agg, v int64) int64 { return agg + v },
		func(agg, v int64) int64 { return agg - v },
		ktable.Named("sums"),
	).ToStream().To("sums")
	return mustBuild(t, b)
}

func TestGroupedTableReduceSum(t *testing.T) {
	d := testutil.NewDriver(t, sumTopology(t), testutil.Config{})
	in := testutil.NewInputTopic(d, "accounts", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "sums", serde.String(), serde.Int64())
	in.PipeAt("a1", "eu:10", tsAt(1))
	in.PipeAt("a2", "eu:5", tsAt(2))
	in.PipeAt("a1", "eu:7", tsAt(3))  // update in place: 15 - 10 + 7
	in.PipeAt("a2", "us:5", tsAt(4))  // moves: eu 12 - 5, us 5
	in.PipeAt("a3", "us:-2", tsAt(1)) // out of order: the sum keeps the later time
	pipeDelete(t, in, "a1", tsAt(6))
	sameList(t, "sums", readOutputs(out),
		"eu:10@1", "eu:15@2", "eu:12@3",
		"eu:7@4", "us:5@4",
		"us:3@4",
		"eu:0@6")
}

// TestGroupedTableAggregateNamedGroupingSharesTopic checks the topology of
// a named grouping with two aggregations: one selector, one repartition
// topic named after the grouping, one store per aggregation.
func TestGroupedTableAggregateNamedGroupingSharesTopic(t *testing.T) {
	b := topology.NewBuilder()
	users := ktable.From(b, "users", serde.String(), serde.String())
	byRegion := ktable.GroupTableBy(users, func(user, region string) (string, string) { return region, user }, ktable.Named("by-region"))
	byRegion.Count(ktable.Named("n")).ToStream().To("counts")
	ktable.AggregateTable(byRegion, func() string { return "" },
		func(_ string, user, agg string) string { return agg + "+" + user },
		func(_ string, user, agg string) string { return agg + "-" + user },
		ktable.Named("names"),
	).ToStream().To("names")
	top := mustBuild(t, b)
	desc := top.Describe().String()
	for _, s := range []string{"Processor: by-region", "Sink: by-region-repartition-sink (topic: by-region-repartition)", "Source: by-region-repartition-source (topics: [by-region-repartition])", "(stores: [n])", "(stores: [names])"} {
		if !strings.Contains(desc, s) {
			t.Errorf("Describe lacks %q:\n%s", s, desc)
		}
	}
	if n := strings.Count(desc, "Sink: by-region-repartition-sink"); n != 1 {
		t.Errorf("%d repartition sinks, want 1:\n%s", n, desc)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app"})
	in := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
	counts := testutil.NewOutputTopic(d, "counts", serde.String(), serde.Int64())
	names := testutil.NewOutputTopic(d, "names", serde.String(), serde.String())
	in.PipeAt("alice", "eu", tsAt(1))
	in.PipeAt("alice", "us", tsAt(2))
	sameList(t, "counts", readOutputs(counts), "eu:1@1", "eu:0@2", "us:1@2")
	sameList(t, "names", readOutputs(names), "eu:+alice@1", "eu:+alice-alice@2", "us:+alice@2")
	rep := testutil.NewOutputTopic(d, "app-by-region-repartition", serde.String(), serde.Bytes())
	if n := rep.Len(); n != 3 {
		t.Fatalf("repartition topic holds %d records, want 3 (add; subtract, add)", n)
	}
}

// TestGroupTableByUnnamedNamesTopicAfterStore checks Kafka Streams' naming
// of an unnamed grouping: KTABLE-SELECT-n, and a repartition topic named
// after the aggregation's store, KTABLE-AGGREGATE-STATE-STORE-m.
func TestGroupTableByUnnamedNamesTopicAfterStore(t *testing.T) {
	b := topology.NewBuilder()
	users := ktable.From(b, "users", serde.String(), serde.String())
	ktable.GroupTableBy(users, func(user, region string) (string, string) { return region, user }).Count().ToStream().To("counts")
	desc := mustBuild(t, b).Describe().String()
	for _, s := range []string{
		"Processor: KTABLE-SELECT-0000000003",
		"Sink: KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition-sink (topic: KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition)",
		"Processor: KTABLE-AGGREGATE-0000000005 (stores: [KTABLE-AGGREGATE-STATE-STORE-0000000004])",
	} {
		if !strings.Contains(desc, s) {
			t.Errorf("Describe lacks %q:\n%s", s, desc)
		}
	}
}

// toStringAgg is Kafka's MockAggregator.TOSTRING_ADDER/REMOVER with
// MockInitializer.STRING_INIT.
func toStringAgg[K any](g *ktable.GroupedTable[K, string], opts ...ktable.Option) ktable.Table[K, string] {
	return ktable.AggregateTable(g, func() string { return "0" },
		func(_ K, v, agg string) string { return agg + "+" + v },
		func(_ K, v, agg string) string { return agg + "-" + v },
		opts...)
}

// TestKTableAggregateBasic mirrors KTableAggregateTest.testAggBasic.
func TestKTableAggregateBasic(t *testing.T) {
	for _, cache := range []int64{0, 10 << 20} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) {
			b := topology.NewBuilder()
			table1 := ktable.From(b, "topic1", serde.String(), serde.String(), uncachedRows)
			toStringAgg(ktable.GroupTableBy(table1, func(k, v string) (string, string) { return k, v }),
				ktable.Named("topic1-Canonized")).ToStream().To("out")
			d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{CacheMaxBytes: cache})
			in := testutil.NewInputTopic(d, "topic1", serde.String(), serde.String())
			out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
			in.PipeAt("A", "1", tsAt(10))
			in.PipeAt("B", "2", tsAt(15))
			in.PipeAt("A", "3", tsAt(20))
			in.PipeAt("B", "4", tsAt(18))
			in.PipeAt("C", "5", tsAt(5))
			in.PipeAt("D", "6", tsAt(25))
			in.PipeAt("B", "7", tsAt(15))
			in.PipeAt("C", "8", tsAt(10))
			sameList(t, "aggregates", readOutputs(out),
				"A:0+1@10",
				"B:0+2@15",
				"A:0+1-1+3@20",
				"B:0+2-2+4@18",
				"C:0+5@5",
				"D:0+6@25",
				"B:0+2-2+4-4+7@18",
				"C:0+5-5+8@10")
		})
	}
}

// TestKTableAggregateRepartition mirrors KTableAggregateTest
// .testAggRepartition. Kafka's mapper returns a null key for "null" and a
// null pair for "NULL"; here both select a nil *string, which the key
// serde encodes as null, and are skipped alike.
func TestKTableAggregateRepartition(t *testing.T) {
	b := topology.NewBuilder()
	table1 := ktable.From(b, "topic1", serde.String(), serde.String())
	keys := canonizedAgg(table1)
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "topic1", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", keys, serde.String())
	in.PipeAt("A", "1", tsAt(10))
	pipeDelete(t, in, "A", tsAt(15))
	in.PipeAt("A", "1", tsAt(12))
	in.PipeAt("B", "2", tsAt(20))
	in.PipeAt("null", "3", tsAt(25))
	in.PipeAt("B", "4", tsAt(23))
	in.PipeAt("NULL", "5", tsAt(24))
	in.PipeAt("B", "7", tsAt(22))
	sameList(t, "aggregates", readOutputs(out),
		"1:0+1@10",
		"1:0+1-1@15",
		"1:0+1-1+1@15",
		"2:0+2@20",
		"2:0+2-2@23",
		"4:0+4@23",
		"4:0+4-4@23",
		"7:0+7@22")
	if n := d.DroppedRecords(); n != 2 {
		t.Fatalf("dropped %d records, want 2 (the null group keys)", n)
	}
}

// canonizedAgg is KTableAggregateTest's testAggRepartition topology over
// table1: rows grouped by value, "null" and "NULL" to a null key, into
// "out". It returns the key serde of "out".
func canonizedAgg(table1 ktable.Table[string, string]) serde.Serde[*string] {
	keys := serde.Ptr(serde.String())
	g := ktable.GroupTableBy(table1, func(k, v string) (*string, string) {
		switch k {
		case "null", "NULL":
			return nil, v
		}
		return &v, v
	}, ktable.WithKeySerde(keys))
	toStringAgg(g, ktable.Named("topic1-Canonized")).ToStream().To("out")
	return keys
}

// TestKTableAggregateCount mirrors KTableAggregateTest.testCount and
// testCountWithInternalStore.
func TestKTableAggregateCount(t *testing.T) {
	for _, tc := range []struct {
		named bool
		cache int64
	}{{true, 0}, {false, 0}, {true, 10 << 20}} {
		named, cache := tc.named, tc.cache
		t.Run(fmt.Sprintf("named=%v/cache=%d", named, cache), func(t *testing.T) {
			b := topology.NewBuilder()
			var opts []ktable.Option
			if named {
				opts = append(opts, ktable.Named("count"))
			}
			ktable.GroupTableBy(ktable.From(b, "count-test-input", serde.String(), serde.String(), uncachedRows),
				func(_, v string) (string, string) { return v, v }).Count(opts...).ToStream().To("out")
			d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{CacheMaxBytes: cache})
			in := testutil.NewInputTopic(d, "count-test-input", serde.String(), serde.String())
			out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
			in.PipeAt("A", "green", tsAt(10))
			in.PipeAt("B", "green", tsAt(9))
			in.PipeAt("A", "blue", tsAt(12))
			in.PipeAt("C", "yellow", tsAt(15))
			in.PipeAt("D", "green", tsAt(11))
			sameList(t, "counts", readOutputs(out),
				"green:1@10",
				"green:2@10",
				"green:1@12",
				"blue:1@12",
				"yellow:1@15",
				"green:2@12")
		})
	}
}

// TestKTableAggregateRemoveOldBeforeAddNew mirrors KTableAggregateTest
// .testRemoveOldBeforeAddNew.
func TestKTableAggregateRemoveOldBeforeAddNew(t *testing.T) {
	for _, cache := range []int64{0, 10 << 20} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) {
			testRemoveOldBeforeAddNew(t, cache)
		})
	}
}

func testRemoveOldBeforeAddNew(t *testing.T, cache int64) {
	b := topology.NewBuilder()
	g := ktable.GroupTableBy(ktable.From(b, "count-test-input", serde.String(), serde.String(), uncachedRows),
		func(k, _ string) (string, string) { return k[:1], k[1:2] })
	ktable.AggregateTable(g, func() string { return "" },
		func(_ string, v, agg string) string { return agg + v },
		func(_ string, v, agg string) string { return strings.ReplaceAll(agg, v, "") },
		ktable.Named("someStore"),
	).ToStream().To("out")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{CacheMaxBytes: cache})
	in := testutil.NewInputTopic(d, "count-test-input", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	in.PipeAt("11", "A", tsAt(10))
	in.PipeAt("12", "B", tsAt(8))
	pipeDelete(t, in, "11", tsAt(12))
	in.PipeAt("12", "C", tsAt(6))
	sameList(t, "aggregates", readOutputs(out), "1:1@10", "1:12@10", "1:2@12", "1:2@12")
}

// TestKTableAggregateNoTransientState mirrors KTableAggregateTest
// .testShouldNotSendTransientStateIfNotUpgrading and
// testNoEqualsAndNotSameObject. For the latter Kafka expects a transient
// count of 0, because its keys lack equals; Strata compares groups by their
// serialized keys, so distinct pointers to equal strings are one group and
// there is no transient state.
func TestKTableAggregateNoTransientState(t *testing.T) {
	t.Run("same key", func(t *testing.T) {
		b := topology.NewBuilder()
		ktable.GroupTableBy(ktable.From(b, "input-topic", serde.String(), serde.String()),
			func(k, v string) (string, string) { return k, v }).Count().ToStream().To("output-topic")
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		in := testutil.NewInputTopic(d, "input-topic", serde.String(), serde.String())
		out := testutil.NewOutputTopic(d, "output-topic", serde.String(), serde.Int64())
		in.PipeAt("1", "", tsAt(8))
		in.PipeAt("1", "", tsAt(9))
		sameList(t, "counts", readOutputs(out), "1:1@8", "1:1@9")
	})
	t.Run("new pointers", func(t *testing.T) {
		b := topology.NewBuilder()
		keys := serde.Ptr(serde.String())
		ktable.GroupTableBy(ktable.From(b, "input-topic", serde.String(), serde.String()),
			func(_, v string) (*string, string) { p := new(string); *p = v; return p, v },
			ktable.WithKeySerde(keys)).Count().ToStream().To("output-topic")
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		in := testutil.NewInputTopic(d, "input-topic", serde.String(), serde.String())
		out := testutil.NewOutputTopic(d, "output-topic", keys, serde.Int64())
		in.PipeAt("1", "1", tsAt(8))
		in.PipeAt("1", "1", tsAt(9))
		sameList(t, "counts", readOutputs(out), "1:1@8", "1:1@9")
	})
}

// TestGroupTableByAcrossPartitions moves rows between groups owned by
// different tasks: the retraction and the addition travel to different
// partitions of the repartition topic, and the counts still add up.
func TestGroupTableByAcrossPartitions(t *testing.T) {
	d := testutil.NewDriver(t, regionCounts(t), testutil.Config{Partitions: map[string]int{"users": 4}})
	in := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
	regions := []string{"eu", "us", "apac", "latam", "mea"}
	want := map[string]int64{}
	where := map[string]string{}
	for i := range 200 {
		user := fmt.Sprintf("u%02d", i%40)
		region := regions[(i*7+i/40)%len(regions)]
		if old, ok := where[user]; ok {
			want[old]--
		}
		where[user] = region
		want[region]++
		in.PipeAt(user, region, tsAt(int64(i)))
	}
	view := testutil.KeyValueStore[string, int64](d, "region-counts")
	for _, region := range regions {
		if n, _ := view.Get(region); n != want[region] {
			t.Errorf("%s: count %d, want %d", region, n, want[region])
		}
	}
}

// TestGroupTableByBuildErrors checks the mistakes Build reports.
func TestGroupTableByBuildErrors(t *testing.T) {
	type point struct{ X, Y int }
	for _, tc := range []struct {
		name string
		add  func(b *topology.Builder, users ktable.Table[string, string])
		want string
	}{
		{"nil selector", func(b *topology.Builder, users ktable.Table[string, string]) {
			ktable.GroupTableBy[string, string, string, string](users, nil).Count()
		}, "nil selector"},
		{"no key serde", func(b *topology.Builder, users ktable.Table[string, string]) {
			ktable.GroupTableBy(users, func(k, v string) (point, string) { return point{}, v }).Count()
		}, "no serde for ktable_test.point, needed by GroupTableBy (key)"},
		{"nil reducer", func(b *topology.Builder, users ktable.Table[string, string]) {
			ktable.GroupTableBy(users, func(k, v string) (string, string) { return v, k }).Reduce(nil, nil)
		}, "nil adder or subtractor"},
		{"key serde on aggregation", func(b *topology.Builder, users ktable.Table[string, string]) {
			ktable.GroupTableBy(users, func(k, v string) (string, string) { return v, k }).Count(ktable.WithKeySerde(serde.String()))
		}, "WithKeySerde does not apply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			tc.add(b, ktable.From(b, "users", serde.String(), serde.String()))
			_, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestGroupTableByAfterFilter regroups a filtered table: rows filtered out
// leave their group, and the filter's tombstones for rows that never
// matched change nothing.
func TestGroupTableByAfterFilter(t *testing.T) {
	b := topology.NewBuilder()
	users := ktable.From(b, "users", serde.String(), serde.String())
	active := users.FilterNot(func(_, region string) bool { return region == "gone" })
	ktable.GroupTableBy(active, func(user, region string) (string, string) { return region, user }).Count().ToStream().To("counts")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "counts", serde.String(), serde.Int64())
	in.PipeAt("alice", "eu", tsAt(1))
	in.PipeAt("bob", "gone", tsAt(2))
	in.PipeAt("alice", "gone", tsAt(3))
	in.PipeAt("bob", "us", tsAt(4))
	sameList(t, "counts", readOutputs(out), "eu:1@1", "eu:0@3", "us:1@4")
	if n := d.DroppedRecords(); n != 0 {
		t.Fatalf("dropped %d records", n)
	}
}

// TestGroupTableByCachedSource regroups a table whose rows are cached: its
// updates reach the grouping when the cache flushes, at commit.
func TestGroupTableByCachedSource(t *testing.T) {
	b := topology.NewBuilder()
	users := ktable.From(b, "users", serde.String(), serde.String())
	ktable.GroupTableBy(users, func(user, region string) (string, string) { return region, user }).Count().ToStream().To("counts")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{CacheMaxBytes: 1 << 20})
	in := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "counts", serde.String(), serde.Int64())
	in.PipeAt("alice", "eu", tsAt(1))
	in.PipeAt("alice", "us", tsAt(2))
	sameList(t, "counts", readOutputs(out), "eu:1@1", "eu:0@2", "us:1@2")
}

// TestGroupTableByTwoUnnamedAggregations: each unnamed aggregation of one
// grouping gets its own repartition topic, fed by the one selector.
func TestGroupTableByTwoUnnamedAggregations(t *testing.T) {
	b := topology.NewBuilder()
	accounts := ktable.From(b, "accounts", serde.String(), serde.Int64())
	byOwner := ktable.GroupTableBy(accounts, func(k string, v int64) (string, int64) { return k[:1], v })
	byOwner.Count().ToStream().To("counts")
	byOwner.Reduce(func(a, v int64) int64 { return a + v }, func(a, v int64) int64 { return a - v }).ToStream().To("sums")
	top := mustBuild(t, b)
	if n := strings.Count(top.Describe().String(), "-repartition-sink (topic:"); n != 2 {
		t.Fatalf("%d repartition topics, want 2:\n%s", n, top.Describe())
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "accounts", serde.String(), serde.Int64())
	counts := testutil.NewOutputTopic(d, "counts", serde.String(), serde.Int64())
	sums := testutil.NewOutputTopic(d, "sums", serde.String(), serde.Int64())
	in.PipeAt("a1", 10, tsAt(1))
	in.PipeAt("a2", 5, tsAt(2))
	in.PipeAt("b1", 1, tsAt(3))
	in.PipeAt("a1", 20, tsAt(4))
	sameList(t, "counts", readOutputs(counts), "a:1@1", "a:2@2", "b:1@3", "a:2@4")
	sameList(t, "sums", readOutputs(sums), "a:10@1", "a:15@2", "b:1@3", "a:25@4")
}
