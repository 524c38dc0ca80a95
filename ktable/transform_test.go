package ktable_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/strata-go/strata/internal/testkit"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// The tests of this file replay Kafka Streams' KTableTransformValuesTest.

// exclamation is KTableTransformValuesTest's ExclamationValueTransformer:
// "key->value!", after checking in Init that the stores it names are
// connected.
type exclamation struct{ stores []string }

func (e *exclamation) Init(ctx topology.TaskContext) error {
	for _, s := range e.stores {
		if _, err := ctx.StateStore(s); err != nil {
			return fmt.Errorf("state stores are not accessible: %w", err)
		}
	}
	return nil
}

func (e *exclamation) Transform(key, value string) (string, error) {
	return key + "->" + value + "!", nil
}

func (e *exclamation) Close() error { return nil }

// counting is KTableTransformValuesTest's StatefulTransformer: it returns
// how many values it has transformed.
type counting struct{ n int32 }

func (c *counting) Init(topology.TaskContext) error      { return nil }
func (c *counting) Transform(_, _ string) (int32, error) { c.n++; return c.n, nil }
func (c *counting) Close() error                         { return nil }
func userStore(b *topology.Builder, name string) {
	state.AddKeyValueStore(b, name, serde.Int64(), serde.Int64())
}
func sumInts(agg, v int32) int32                  { return agg + v }
func subInts(agg, v int32) int32                  { return agg - v }
func intsToStrings(_ string, v int32) string      { return fmt.Sprint(v) }
func groupAsIs(k string, v int32) (string, int32) { return k, v }
func pipeTable(in *testutil.InputTopic[string, string], k, v string, ms int64) {
	in.PipeAt(k, v, tsAt(ms))
}

func TestTransformValues(t *testing.T) {
	t.Run("KTableTransformValuesTest.shouldTransformValuesWithKey", func(t *testing.T) {
		b := topology.NewBuilder()
		userStore(b, "store")
		userStore(b, "other")
		tbl := ktable.From(b, "input", serde.String(), serde.String())
		ktable.TransformValues(tbl, func() ktable.ValueTransformer[string, string, string] {
			return &exclamation{stores: []string{"store", "other"}}
		}, ktable.WithStores("store", "other")).ToStream().To("output")
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
		out := testutil.NewOutputTopic(d, "output", serde.String(), serde.String())
		pipeTable(in, "A", "a", 5)
		pipeTable(in, "B", "b", 10)
		pipeDelete(t, in, "D", tsAt(15))
		// Kafka's table forwards the delete of the absent row D, which
		// its transformer turns into "D->null!"; Strata's forwards
		// nothing for it, and deletes are never transformed.
		sameList(t, "output", readOutputs(out), "A:A->a!@5", "B:B->b!@10")
	})
	t.Run("KTableTransformValuesTest.shouldTransformValuesWithKeyAndMaterialize", func(t *testing.T) {
		b := topology.NewBuilder()
		userStore(b, "store")
		tbl := ktable.From(b, "input", serde.String(), serde.String())
		ktable.TransformValues(tbl, func() ktable.ValueTransformer[string, string, string] {
			return &exclamation{stores: []string{"store", "queryable-store"}}
		}, ktable.WithStores("store"), ktable.Named("queryable-store")).ToStream().To("output")
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
		out := testutil.NewOutputTopic(d, "output", serde.String(), serde.String())
		pipeTable(in, "A", "a", 5)
		pipeTable(in, "B", "b", 10)
		pipeTable(in, "C", "c", 15)
		sameList(t, "output", readOutputs(out), "A:A->a!@5", "B:B->b!@10", "C:C->c!@15")
		store := testutil.TimestampedKeyValueStore[string, string](d, "queryable-store")
		for k, want := range map[string]state.Timestamped[string]{"A": {Value: "A->a!", Timestamp: tsAt(5)}, "B": {Value: "B->b!", Timestamp: tsAt(10)}, "C": {Value: "C->c!", Timestamp: tsAt(15)}} {
			if v, ok := store.Get(k); !ok || v.Value != want.Value || !v.Timestamp.Equal(want.Timestamp) {
				t.Errorf("store[%s] = %+v, %v; want %+v", k, v, ok, want)
			}
		}
		pipeDelete(t, in, "A", tsAt(20))
		sameList(t, "output after a delete", readOutputs(out), "A:null@20")
		if _, ok := store.Get("A"); ok {
			t.Error("the deleted row is still in the store")
		}
	})
	t.Run("KTableTransformValuesTest.shouldCalculateCorrectOldValuesIfMaterializedEvenIfStateful", func(t *testing.T) {
		b := topology.NewBuilder()
		tbl := ktable.From(b, "input", serde.String(), serde.String())
		counts := ktable.TransformValues(tbl, func() ktable.ValueTransformer[string, string, int32] { return &counting{} },
			ktable.Named("queryable-store"), ktable.WithValueSerde(serde.Int32()))
		sums := ktable.GroupTableBy(counts, groupAsIs, ktable.WithKeySerde(serde.String()), ktable.WithValueSerde(serde.Int32())).
			Reduce(sumInts, subInts)
		ktable.MapValues(sums, intsToStrings).ToStream().To("output")
		d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
		in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
		out := testutil.NewOutputTopic(d, "output", serde.String(), serde.String())
		pipeTable(in, "A", "ignored", 5)
		pipeTable(in, "A", "ignored1", 15)
		pipeTable(in, "A", "ignored2", 10)
		// Each update retracts the count it replaces, read from the
		// store, not counted again.
		sameList(t, "output", readOutputs(out), "A:1@5", "A:2@15", "A:3@15")
		if v, ok := testutil.KeyValueStore[string, int32](d, "queryable-store").Get("A"); !ok || v != 3 {
			t.Fatalf("store[A] = %d, %v; want 3", v, ok)
		}
	})
	t.Run("KTableTransformValuesTest.shouldThrowOnGetIfSupplierReturnsNull", func(t *testing.T) {
		b := topology.NewBuilder()
		tbl := ktable.From(b, "input", serde.String(), serde.String())
		ktable.TransformValues(tbl, func() ktable.ValueTransformer[string, string, string] { return nil }).ToStream().To("output")
		top := mustBuild(t, b)
		msg := testkit.Failure(t, func(tb testing.TB) { testutil.NewDriver(tb, top, testutil.Config{}) })
		if !strings.Contains(msg, "the transformer supplier returned nil") {
			t.Fatalf("driver reported %q, want the nil transformer", msg)
		}
	})
	t.Run("nil supplier", func(t *testing.T) {
		b := topology.NewBuilder()
		tbl := ktable.From(b, "input", serde.String(), serde.String())
		ktable.TransformValues[string, string, string](tbl, nil, ktable.Named("t"))
		if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), `ktable.TransformValues "t": nil transformer supplier`) {
			t.Fatalf("Build error %v", err)
		}
	})
}

// failing fails its second transformation and records that it was closed.
type failing struct {
	n      int
	closed *bool
}

func (f *failing) Init(topology.TaskContext) error { return nil }

func (f *failing) Transform(_, v string) (string, error) {
	if f.n++; f.n == 2 {
		return "", errors.New("no second value")
	}
	return v, nil
}

func (f *failing) Close() error { *f.closed = true; return nil }

// TestTransformValuesErrorAndClose checks that a transformer's error stops
// processing, naming the node, and that the transformer is closed with its
// task (KTableTransformValuesTest.shouldCloseTransformerOnProcessorClose).
func TestTransformValuesErrorAndClose(t *testing.T) {
	closed := false
	b := topology.NewBuilder()
	tbl := ktable.From(b, "input", serde.String(), serde.String())
	ktable.TransformValues(tbl, func() ktable.ValueTransformer[string, string, string] { return &failing{closed: &closed} },
		ktable.Named("t")).ToStream().To("output")
	d := testutil.NewDriver(t, mustBuild(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
	if err := in.TryPipeRecord(topology.Record[string, string]{Key: "a", Value: "1", Timestamp: tsAt(1)}); err != nil {
		t.Fatalf("first value: %v", err)
	}
	err := in.TryPipeRecord(topology.Record[string, string]{Key: "a", Value: "2", Timestamp: tsAt(2)})
	if err == nil || !strings.Contains(err.Error(), "no second value") || !strings.Contains(err.Error(), `"t"`) {
		t.Fatalf("second value: %v, want the transformer's error naming t", err)
	}
	d.Close()
	if !closed {
		t.Fatal("the transformer was not closed with its task")
	}
}
