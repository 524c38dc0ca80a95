package ktable_test

import (
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// The tests of this file replay the versioned-table cases of Kafka
// Streams' KTableAggregateTest, KTableFilterTest and SuppressTopologyTest
// (KIP-914), and check what a versioned table forwards.

var versionedFor5m = ktable.Versioned(5 * time.Minute)

// TestVersionedTableAggregations mirrors KTableAggregateTest.
// testCountOfVersionedStore and testAggOfVersionedStore: an out-of-order
// update of a versioned table leaves the aggregates alone.
func TestVersionedTableAggregations(t *testing.T) {
	t.Run("KTableAggregateTest.testCountOfVersionedStore", func(t *testing.T) {
		b := topology.NewBuilder()
		ktable.GroupTableBy(ktable.From(b, "count-test-input", serde.String(), serde.String(), versionedFor5m),
			func(_, v string) (string, string) { return v, v }).Count().ToStream().To("out")
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		in := testutil.NewInputTopic(d, "count-test-input", serde.String(), serde.String())
		out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
		in.PipeAt("A", "green", tsAt(10))
		in.PipeAt("B", "green", tsAt(9))
		in.PipeAt("A", "blue", tsAt(12))
		in.PipeAt("A", "blue", tsAt(11)) // out of order: ignored
		in.PipeAt("C", "yellow", tsAt(15))
		in.PipeAt("D", "green", tsAt(11))
		sameList(t, "counts", readOutputs(out),
			"green:1@10", "green:2@10", "green:1@12", "blue:1@12", "yellow:1@15", "green:2@12")
		if n := d.DroppedRecords(); n != 1 {
			t.Fatalf("dropped %d records, want the out-of-order update", n)
		}
	})
	t.Run("KTableAggregateTest.testAggOfVersionedStore", func(t *testing.T) {
		b := topology.NewBuilder()
		table1 := ktable.From(b, "topic1", serde.String(), serde.String(), ktable.Named("versioned"), versionedFor5m)
		keys := canonizedAgg(table1)
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		in := testutil.NewInputTopic(d, "topic1", serde.String(), serde.String())
		out := testutil.NewOutputTopic(d, "out", keys, serde.String())
		in.PipeAt("A", "1", tsAt(10))
		pipeDelete(t, in, "A", tsAt(15))
		in.PipeAt("A", "1", tsAt(12)) // out of order: ignored
		in.PipeAt("B", "2", tsAt(20))
		in.PipeAt("null", "3", tsAt(25))
		in.PipeAt("B", "4", tsAt(23))
		in.PipeAt("NULL", "5", tsAt(24))
		in.PipeAt("B", "7", tsAt(22)) // out of order: ignored
		sameList(t, "aggregates", readOutputs(out),
			"1:0+1@10", "1:0+1-1@15", "2:0+2@20", "2:0+2-2@23", "4:0+4@23")
		// The versioned store has the history, out-of-order updates
		// included.
		store := testutil.VersionedKeyValueStore[string, string](d, "versioned")
		if r, ok := store.GetAsOf("A", tsAt(13)); !ok || r.Value != "1" || r.Timestamp.UnixMilli() != 12 {
			t.Fatalf("A as of 13 = %+v, %v; want 1 from 12", r, ok)
		}
		if r, ok := store.Get("B"); !ok || r.Value != "4" {
			t.Fatalf("latest B = %+v, %v; want 4", r, ok)
		}
	})
}

// TestVersionedTableForwards checks the updates a versioned table forwards:
// in-order ones as a table's, out-of-order ones marked, which ToStream
// forwards as Kafka Streams' does, and none for updates older than the
// history retention, which are dropped and counted. Filter keeps the table
// versioned.
func TestVersionedTableForwards(t *testing.T) {
	b := topology.NewBuilder()
	tbl := ktable.From(b, "in", serde.String(), serde.String(), ktable.Named("rows"), ktable.Versioned(time.Second))
	filtered := tbl.Filter(func(_, v string) bool { return !strings.HasPrefix(v, "x") })
	var marks []string
	ktable.TransformValues(filtered, func() ktable.ValueTransformer[string, string, string] { return upper{} },
		ktable.WithValueSerde(serde.String())).ToStream().To("transformed")
	filtered.ToStream().Peek(func(k, v string) { marks = append(marks, k+"="+v) }).To("out")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	transformed := testutil.NewOutputTopic(d, "transformed", serde.String(), serde.String())
	in.PipeAt("k", "v10", tsAt(10))
	in.PipeAt("k", "v20", tsAt(20))
	in.PipeAt("k", "v15", tsAt(15)) // out of order: forwarded, marked
	if r, ok := testutil.VersionedKeyValueStore[string, string](d, "rows").GetAsOf("k", tsAt(17)); !ok || r.Value != "v15" {
		t.Fatalf("k as of 17 = %+v, %v; want v15", r, ok)
	}
	in.PipeAt("j", "late", tsAt(5_000))
	in.PipeAt("k", "v3000", tsAt(3_000)) // older than 5000 - 1s: dropped
	sameList(t, "out", readOutputs(out), "k:v10@10", "k:v20@20", "k:v15@15", "j:late@5000")
	// TransformValues keeps current rows: it drops the out-of-order one.
	sameList(t, "transformed", readOutputs(transformed), "k:V10@10", "k:V20@20", "j:LATE@5000")
	if n := d.DroppedRecords(); n != 2 {
		t.Fatalf("dropped %d records, want 2: the too old update, and the out-of-order one in TransformValues", n)
	}
	// Its history has gone past the retention; its latest row stays.
	if _, ok := testutil.VersionedKeyValueStore[string, string](d, "rows").GetAsOf("k", tsAt(17)); ok {
		t.Fatal("k as of 17 is still readable 5 s later, with a retention of 1 s")
	}
	if r, ok := testutil.KeyValueStore[string, string](d, "rows").Get("k"); !ok || r != "v20" {
		t.Fatalf("latest k = %q, %v; want v20", r, ok)
	}
}

type upper struct{}

func (upper) Init(topology.TaskContext) error       { return nil }
func (upper) Transform(_, v string) (string, error) { return strings.ToUpper(v), nil }
func (upper) Close() error                          { return nil }

// TestVersionedTableBuild checks FromStream with Versioned, and the
// Suppress and option checks: Kafka Streams' SuppressTopologyTest.
// shouldThrowOnSuppressForMaterializedVersionedTable and
// shouldThrowOnSuppressForNonMaterializedVersionedTable.
func TestVersionedTableBuild(t *testing.T) {
	t.Run("FromStream", func(t *testing.T) {
		b := topology.NewBuilder()
		s := kstream.From(b, "in", serde.String(), serde.String())
		ktable.FromStream(s, ktable.Named("rows"), versionedFor5m).ToStream().To("out")
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
		in.PipeAt("k", "a", tsAt(10))
		in.PipeAt("k", "b", tsAt(5))
		if r, ok := testutil.VersionedKeyValueStore[string, string](d, "rows").GetAsOf("k", tsAt(7)); !ok || r.Value != "b" {
			t.Fatalf("k as of 7 = %+v, %v; want b", r, ok)
		}
	})
	for _, tc := range []struct {
		name  string
		build func(b *topology.Builder)
		want  string
	}{
		{"SuppressTopologyTest.shouldThrowOnSuppressForMaterializedVersionedTable", func(b *topology.Builder) {
			ktable.From(b, "in", serde.String(), serde.String(), ktable.Versioned(0)).
				Suppress(ktable.UntilTimeLimit(0, ktable.Unbounded()))
		}, "a versioned table cannot be suppressed"},
		{"SuppressTopologyTest.shouldThrowOnSuppressForNonMaterializedVersionedTable", func(b *topology.Builder) {
			ktable.From(b, "in", serde.String(), serde.String(), ktable.Versioned(0)).
				Filter(func(_, _ string) bool { return true }).
				Suppress(ktable.UntilTimeLimit(0, ktable.Unbounded()))
		}, "a versioned table cannot be suppressed"},
		{"a negative history retention", func(b *topology.Builder) {
			ktable.From(b, "in", serde.String(), serde.String(), ktable.Versioned(-time.Second))
		}, "history retention -1s is negative"},
		{"a versioned source changelog", func(b *topology.Builder) {
			ktable.From(b, "in", serde.String(), serde.String(), ktable.Versioned(time.Second), ktable.SourceAsChangelog())
		}, "SourceChangelog applies to key-value stores only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			tc.build(b)
			if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
