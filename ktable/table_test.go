package ktable

// Tests of the table operations (From, Filter, FilterNot, MapValues,
// ToStream) against Kafka Streams' KTableSourceTest, KTableFilterTest and
// KTableMapValuesTest. They live in package ktable to watch the Change
// records a table forwards, old values included, as Kafka's tests do with
// a MockApiProcessor below the table's node.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// changeLog collects the changes a table forwards as "key:(new<-old)@ms",
// an absent value printed as null, as Kafka's tests print Change.
type changeLog struct{ recs []string }

// watch adds a processor below t's node that records its changes.
func watch[K, V any](t Table[K, V]) *changeLog {
	l := &changeLog{}
	b := t.builder()
	name := b.NewName("TEST-WATCH-")
	topology.AddProcessor(b, name, func() topology.Processor[K, Change[V], K, Change[V]] {
		return &watchProc[K, V]{log: l}
	}, t.node())
	return l
}

// take returns the changes recorded since the last take.
func (l *changeLog) take() []string {
	recs := l.recs
	l.recs = nil
	return recs
}

type watchProc[K, V any] struct {
	base[K, Change[V]]
	log *changeLog
}

func (p *watchProc[K, V]) Process(r topology.Record[K, Change[V]]) error {
	p.log.recs = append(p.log.recs, fmt.Sprintf("%v:%s@%d", r.Key, fmtChange(r.Value), r.Timestamp.UnixMilli()))
	return nil
}

func fmtChange[V any](ch Change[V]) string {
	s := func(v V, ok bool) string {
		if !ok {
			return "null"
		}
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("(%s<-%s)", s(ch.New, ch.HasNew), s(ch.Old, ch.HasOld))
}

func at(n int64) time.Time { return time.UnixMilli(n) }

func mustBuildTop(t *testing.T, b *topology.Builder) *topology.Topology {
	t.Helper()
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func wantList(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// stream reads out as "key:value@ms", a tombstone's value as null.
func stream[K, V any](out *testutil.OutputTopic[K, V]) []string {
	var got []string
	for _, r := range out.ReadAll() {
		v := fmt.Sprint(r.Value)
		if r.NullValue {
			v = "null"
		}
		got = append(got, fmt.Sprintf("%v:%s@%d", r.Key, v, r.Timestamp.UnixMilli()))
	}
	return got
}

// tombstone pipes a delete of key: InputTopic.PipeRecords sends the zero
// value's encoding for a topology.Tombstone, so it goes through PipeRaw.
func tombstone[V any](t *testing.T, in *testutil.InputTopic[string, V], key string, ts time.Time) {
	t.Helper()
	if err := in.PipeRaw([]byte(key), nil, ts); err != nil {
		t.Fatalf("pipe tombstone for %q: %v", key, err)
	}
}

// TestFromToStream mirrors KTableSourceTest.testKTable: the table's stream
// of updates, a delete as a tombstone.
func TestFromToStream(t *testing.T) {
	b := topology.NewBuilder()
	From(b, "topic1", serde.String(), serde.Int32()).ToStream().To("out")
	d := testutil.NewDriver(t, mustBuildTop(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "topic1", serde.String(), serde.Int32())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int32())
	in.PipeAt("A", 1, at(10))
	in.PipeAt("B", 2, at(11))
	in.PipeAt("C", 3, at(12))
	in.PipeAt("D", 4, at(13))
	tombstone(t, in, "A", at(14))
	tombstone(t, in, "B", at(15))
	wantList(t, "stream", stream(out), "A:1@10", "B:2@11", "C:3@12", "D:4@13", "A:null@14", "B:null@15")
}

// TestFromSendsOldValues mirrors KTableSourceTest.testSendingOldValue: a
// table read from a topic is materialized and always forwards the row's
// previous value. Tombstones delete rows from the store.
func TestFromSendsOldValues(t *testing.T) {
	b := topology.NewBuilder()
	table1 := From(b, "topic1", serde.String(), serde.String())
	changes := watch(table1)
	d := testutil.NewDriver(t, mustBuildTop(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "topic1", serde.String(), serde.String())
	in.PipeAt("A", "01", at(10))
	in.PipeAt("B", "01", at(20))
	in.PipeAt("C", "01", at(15))
	wantList(t, "inserts", changes.take(), "A:(01<-null)@10", "B:(01<-null)@20", "C:(01<-null)@15")
	in.PipeAt("A", "02", at(8))
	in.PipeAt("B", "02", at(22))
	wantList(t, "updates", changes.take(), "A:(02<-01)@8", "B:(02<-01)@22")
	in.PipeAt("A", "03", at(12))
	wantList(t, "update", changes.take(), "A:(03<-02)@12")
	tombstone(t, in, "A", at(15))
	tombstone(t, in, "B", at(20))
	wantList(t, "deletes", changes.take(), "A:(null<-03)@15", "B:(null<-02)@20")

	rows := testutil.KeyValueStore[string, string](d, table1.StoreName())
	if _, ok := rows.Get("A"); ok {
		t.Fatal("A is still in the store after its tombstone")
	}
	if v, ok := rows.Get("C"); !ok || v != "01" {
		t.Fatalf("store: C = %q, %v", v, ok)
	}
	// Deleting a row that does not exist forwards nothing. (Kafka Streams
	// forwards a tombstone here when its store does not cache, and nothing
	// when it does; Strata never does.)
	tombstone(t, in, "nobody", at(30))
	wantList(t, "delete of an absent row", changes.take())
}

// TestFromDropsNullKeys mirrors KTableSourceTest
// .kTableShouldLogAndMeterOnSkippedRecords: a record with a null key is
// dropped and counted.
func TestFromDropsNullKeys(t *testing.T) {
	b := topology.NewBuilder()
	table1 := From(b, "topic", serde.String(), serde.String())
	changes := watch(table1)
	d := testutil.NewDriver(t, mustBuildTop(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "topic", serde.String(), serde.String())
	if err := in.PipeRaw(nil, []byte("value"), at(0)); err != nil {
		t.Fatal(err)
	}
	wantList(t, "changes", changes.take())
	if n := d.DroppedRecords(); n != 1 {
		t.Fatalf("dropped %d records, want 1", n)
	}
}

// TestFromNames checks the names of a table read from a topic, with and
// without Named.
func TestFromNames(t *testing.T) {
	b := topology.NewBuilder()
	named := From(b, "t1", serde.String(), serde.String(), Named("rows"))
	if named.StoreName() != "rows" {
		t.Fatalf("StoreName %q, want rows", named.StoreName())
	}
	desc := mustBuildTop(t, b).Describe().String()
	if !strings.Contains(desc, "(stores: [rows])") {
		t.Fatalf("Describe lacks the named store:\n%s", desc)
	}
}

// TestFromNamesAsKafka checks the generated names of a table read from a
// topic against Kafka Streams' (TopologyTest: "Processor:
// KTABLE-SOURCE-0000000002 (stores: [input-topic-STATE-STORE-0000000000])"):
// Kafka numbers the store first, then the source and the table source.
func TestFromNamesAsKafka(t *testing.T) {
	b := topology.NewBuilder()
	From(b, "input-topic", serde.String(), serde.String())
	desc := mustBuildTop(t, b).Describe().String()
	want := "Processor: KTABLE-SOURCE-0000000002 (stores: [input-topic-STATE-STORE-0000000000])"
	if !strings.Contains(desc, want) {
		t.Fatalf("want %q in:\n%s", want, desc)
	}
}

// isEven is KTableFilterTest's predicate.
func isEven(_ string, v int32) bool { return v%2 == 0 }

// TestFilterToStream mirrors KTableFilterTest.doTestKTable (filter and
// filterNot, then toStream): every update a filter drops becomes a
// tombstone downstream.
func TestFilterToStream(t *testing.T) {
	for _, materialized := range []bool{false, true} {
		t.Run(fmt.Sprintf("source store caching=%v", materialized), func(t *testing.T) {
			b := topology.NewBuilder()
			table1 := From(b, "topic1", serde.String(), serde.Int32(), WithStoreOptions(state.Caching(materialized)))
			table1.Filter(isEven).ToStream().To("filtered")
			table1.FilterNot(isEven).ToStream().To("filtered-not")
			cache := int64(0)
			if materialized {
				cache = 1 << 20
			}
			d := testutil.NewDriver(t, mustBuildTop(t, b), testutil.Config{CacheMaxBytes: cache})
			in := testutil.NewInputTopic(d, "topic1", serde.String(), serde.Int32())
			filtered := testutil.NewOutputTopic(d, "filtered", serde.String(), serde.Int32())
			filteredNot := testutil.NewOutputTopic(d, "filtered-not", serde.String(), serde.Int32())
			in.PipeAt("A", 1, at(10))
			in.PipeAt("B", 2, at(5))
			in.PipeAt("C", 3, at(8))
			in.PipeAt("D", 4, at(14))
			tombstone(t, in, "A", at(18))
			tombstone(t, in, "B", at(15))
			wantList(t, "filter", stream(filtered),
				"A:null@10", "B:2@5", "C:null@8", "D:4@14", "A:null@18", "B:null@15")
			wantList(t, "filterNot", stream(filteredNot),
				"A:1@10", "B:null@5", "C:3@8", "D:null@14", "A:null@18", "B:null@15")
		})
	}
}

// TestFilterSendsOldValues mirrors KTableFilterTest.doTestSendingOldValue:
// the changes of a table and of its filter, old values included. Kafka
// Streams, when it sends old values, drops an update whose old and new
// values are both filtered out; Strata's filter forwards it as an empty
// change (null<-null), which its ToStream turns into a tombstone, as Kafka
// does when it does not send old values. Apart from those, the changes are
// Kafka's.
func TestFilterSendsOldValues(t *testing.T) {
	b := topology.NewBuilder()
	table1 := From(b, "topic1", serde.String(), serde.Int32())
	table2 := table1.Filter(isEven)
	changes1, changes2 := watch(table1), watch(table2)
	d := testutil.NewDriver(t, mustBuildTop(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "topic1", serde.String(), serde.Int32())
	nonEmpty := func(recs []string) []string {
		return slices.DeleteFunc(recs, func(s string) bool { return strings.Contains(s, ":(null<-null)@") })
	}

	in.PipeAt("A", 1, at(5))
	in.PipeAt("B", 1, at(10))
	in.PipeAt("C", 1, at(15))
	wantList(t, "table1", changes1.take(), "A:(1<-null)@5", "B:(1<-null)@10", "C:(1<-null)@15")
	got := changes2.take()
	wantList(t, "table2 (as Strata sends it)", got, "A:(null<-null)@5", "B:(null<-null)@10", "C:(null<-null)@15")
	wantList(t, "table2", nonEmpty(got))

	in.PipeAt("A", 2, at(15))
	in.PipeAt("B", 2, at(8))
	wantList(t, "table1", changes1.take(), "A:(2<-1)@15", "B:(2<-1)@8")
	wantList(t, "table2", nonEmpty(changes2.take()), "A:(2<-null)@15", "B:(2<-null)@8")

	in.PipeAt("A", 3, at(20))
	wantList(t, "table1", changes1.take(), "A:(3<-2)@20")
	wantList(t, "table2", nonEmpty(changes2.take()), "A:(null<-2)@20")

	tombstone(t, in, "A", at(10))
	tombstone(t, in, "B", at(20))
	wantList(t, "table1", changes1.take(), "A:(null<-3)@10", "B:(null<-2)@20")
	wantList(t, "table2", nonEmpty(changes2.take()), "B:(null<-2)@20")
}

// TestMapValuesToStream mirrors KTableMapValuesTest.testKTable.
func TestMapValuesToStream(t *testing.T) {
	b := topology.NewBuilder()
	table1 := From(b, "topic1", serde.String(), serde.String())
	MapValues(table1, func(_ string, v string) int32 { return int32(v[0]) - 48 }).ToStream().To("out")
	d := testutil.NewDriver(t, mustBuildTop(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "topic1", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int32())
	in.PipeAt("A", "1", at(5))
	in.PipeAt("B", "2", at(25))
	in.PipeAt("C", "3", at(20))
	in.PipeAt("D", "4", at(10))
	wantList(t, "stream", stream(out), "A:1@5", "B:2@25", "C:3@20", "D:4@10")
}

// TestMapValuesSendsOldValues mirrors KTableMapValuesTest
// .testSendingOldValue: old values are mapped too.
func TestMapValuesSendsOldValues(t *testing.T) {
	b := topology.NewBuilder()
	table1 := From(b, "topic1", serde.String(), serde.String())
	table2 := MapValues(table1, func(_ string, v string) int32 {
		var n int32
		fmt.Sscan(v, &n)
		return n
	})
	changes := watch(table2)
	d := testutil.NewDriver(t, mustBuildTop(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "topic1", serde.String(), serde.String())
	in.PipeAt("A", "01", at(5))
	in.PipeAt("B", "01", at(10))
	in.PipeAt("C", "01", at(15))
	wantList(t, "inserts", changes.take(), "A:(1<-null)@5", "B:(1<-null)@10", "C:(1<-null)@15")
	in.PipeAt("A", "02", at(10))
	in.PipeAt("B", "02", at(8))
	wantList(t, "updates", changes.take(), "A:(2<-1)@10", "B:(2<-1)@8")
	in.PipeAt("A", "03", at(20))
	wantList(t, "update", changes.take(), "A:(3<-2)@20")
	tombstone(t, in, "A", at(30))
	wantList(t, "delete", changes.take(), "A:(null<-3)@30")
}

// TestMapValuesNeedsASerdeOnlyToWrite checks that MapValues to a type
// without a default serde builds while nothing writes the values, and that
// the mapped table carries WithValueSerde's serde.
func TestMapValuesNeedsASerdeOnlyToWrite(t *testing.T) {
	type pair struct{ A, B string }
	b := topology.NewBuilder()
	table1 := From(b, "topic1", serde.String(), serde.String())
	pairs := MapValues(table1, func(k, v string) pair { return pair{k, v} }, WithValueSerde(serde.JSON[pair]()))
	if pairs.valueSerde() == nil {
		t.Fatal("MapValues dropped WithValueSerde's serde")
	}
	GroupTableBy(pairs, func(k string, p pair) (string, string) { return p.B, k }).Count().ToStream().To("out")
	d := testutil.NewDriver(t, mustBuildTop(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "topic1", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
	in.PipeAt("k", "x", at(1))
	in.PipeAt("k", "y", at(2))
	wantList(t, "counts", stream(out), "x:1@1", "x:0@2", "y:1@2")
}
