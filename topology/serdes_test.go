package topology_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// counting wraps a serde and counts its calls, by the serde's type, in n.
type counting[T any] struct {
	inner serde.Serde[T]
	n     map[string]int
}

func (c counting[T]) Serialize(dst []byte, topic string, v T) ([]byte, error) {
	c.n[reflect.TypeFor[T]().Name()]++
	return c.inner.Serialize(dst, topic, v)
}

func (c counting[T]) Deserialize(topic string, data []byte) (T, error) {
	c.n[reflect.TypeFor[T]().Name()]++
	return c.inner.Deserialize(topic, data)
}

func countingJSON[T any](n map[string]int) serde.Serde[T] {
	return counting[T]{inner: serde.JSON[T](), n: n}
}

// TestPaymentsAppNeedsEachSerdeOnce runs the payments application, a
// windowed aggregation, a stream-table join, a stream-stream join and a
// processor, with one serde registered per type and none given to any
// operation: it builds, its outputs are right, and every registered serde
// is used (the sources, repartition topics, stores and sinks take them).
func TestPaymentsAppNeedsEachSerdeOnce(t *testing.T) {
	calls := map[string]int{}
	b := topology.NewBuilder()
	topology.RegisterSerde(b, countingJSON[Payment](calls))
	topology.RegisterSerde(b, countingJSON[Account](calls))
	topology.RegisterSerde(b, countingJSON[Check](calls))
	topology.RegisterSerde(b, countingJSON[Receipt](calls))
	topology.RegisterSerde(b, countingJSON[Cleared](calls))
	paymentsApp(b)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{Partitions: map[string]int{"payments": 2, "accounts": 2, "checks": 2}})
	accounts := testutil.NewInputTopic(d, "accounts", serde.String(), serde.JSON[Account]())
	payments := testutil.NewInputTopic(d, "payments", serde.String(), serde.JSON[Payment]())
	checks := testutil.NewInputTopic(d, "checks", serde.String(), serde.JSON[Check]())
	totals := testutil.NewOutputTopic(d, "totals", serde.String(), serde.Int64())
	cleared := testutil.NewOutputTopic(d, "cleared", serde.String(), serde.JSON[Cleared]())

	t0 := time.UnixMilli(0)
	accounts.PipeAt("a1", Account{Holder: "Ada"}, t0)
	accounts.PipeAt("a2", Account{Holder: "Bob"}, t0)
	payments.PipeAt("p1", Payment{ID: "p1", Account: "a1", Cents: 100}, t0.Add(time.Second))
	payments.PipeAt("p2", Payment{ID: "p2", Account: "a2", Cents: 0}, t0.Add(2*time.Second)) // dropped
	payments.PipeAt("p3", Payment{ID: "p3", Account: "a2", Cents: 300}, t0.Add(3*time.Second))
	payments.PipeAt("p4", Payment{ID: "p4", Account: "a1", Cents: 40}, t0.Add(61*time.Second))
	checks.PipeAt("p3", Check{Approved: false}, t0.Add(4*time.Second))
	checks.PipeAt("p1", Check{Approved: true}, t0.Add(5*time.Second))
	checks.PipeAt("p2", Check{Approved: true}, t0.Add(6*time.Second)) // its payment was dropped

	got := testutil.ReadKeyValuesToMap(totals)
	want := map[string]int64{"[a1@0/60000]": 100, "[a2@0/60000]": 300, "[a1@60000/120000]": 40}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("totals %v, want %v", got, want)
	}
	var clearedOut []string
	for _, kv := range cleared.ReadKeyValues() {
		clearedOut = append(clearedOut, fmt.Sprintf("%s:%s:%d:%v", kv.Key, kv.Value.Receipt.Holder, kv.Value.Receipt.Payment.Cents, kv.Value.Approved))
	}
	if want := []string{"p3:Bob:300:false", "p1:Ada:100:true"}; !slices.Equal(clearedOut, want) {
		t.Errorf("cleared %q, want %q", clearedOut, want)
	}
	for _, typ := range []string{"Payment", "Account", "Check", "Receipt", "Cleared"} {
		if calls[typ] == 0 {
			t.Errorf("the registered serde of %s was never used (calls %v)", typ, calls)
		}
	}
}

// TestMissingSerdesReportedOncePerType builds the payments application
// without registering its serdes: Build reports each type once, wrapping
// ErrNoSerde and naming every operation that needed it, and nothing else.
func TestMissingSerdesReportedOncePerType(t *testing.T) {
	b := topology.NewBuilder()
	paymentsApp(b)
	_, err := b.Build()
	if !errors.Is(err, topology.ErrNoSerde) || !errors.Is(err, topology.ErrInvalidTopology) {
		t.Fatalf("Build error %v, want one wrapping ErrNoSerde and ErrInvalidTopology", err)
	}
	lines := strings.Split(strings.TrimPrefix(err.Error(), "invalid topology: "), "\n")
	types := []string{"Payment", "Account", "Check", "Receipt", "Cleared"}
	if len(lines) != len(types) {
		t.Fatalf("Build reported %d problems, want one per type (%d):\n%v", len(lines), len(types), err)
	}
	for i, typ := range types {
		if !strings.HasPrefix(lines[i], "no serde for topology_test."+typ+", needed by ") {
			t.Errorf("problem %d: %q, want the one of %s", i, lines[i], typ)
		}
	}
	// Payment is needed by its source, by the repartition topics of the
	// join and of the aggregation, and by the aggregation's store.
	for _, user := range []string{`From "payments" (value)`, "join.StreamTable (left value)", "GroupByKey (value)"} {
		if !strings.Contains(lines[0], user) {
			t.Errorf("the problem of Payment does not name %s: %q", user, lines[0])
		}
	}
}

// TestRegisterSerdeMistakes: a nil serde, a second serde for a type, and a
// serde registered after an operation needed one fail Build, each naming
// the type; a late registration is not also reported as a missing serde.
func TestRegisterSerdeMistakes(t *testing.T) {
	type point struct{ X, Y int }
	for _, tc := range []struct {
		name string
		add  func(b *topology.Builder)
		want []string
		not  string
	}{
		{"nil serde", func(b *topology.Builder) {
			topology.RegisterSerde[point](b, nil)
		}, []string{"RegisterSerde[topology_test.point]: nil serde"}, ""},
		{"second serde", func(b *topology.Builder) {
			topology.RegisterSerde(b, serde.JSON[point]())
			topology.RegisterSerde(b, serde.JSON[point]())
		}, []string{"RegisterSerde[topology_test.point]: the builder has a serde for topology_test.point already"}, ""},
		{"after use", func(b *topology.Builder) {
			in := kstream.From(b, "in", serde.String(), serde.String())
			kstream.MapValues(in, func(string, string) point { return point{} }).To("out")
			topology.RegisterSerde(b, serde.JSON[point]())
		}, []string{"RegisterSerde[topology_test.point] after an operation needed a serde for topology_test.point: register serdes right after NewBuilder"}, "no serde for"},
		{"after a default was used", func(b *topology.Builder) {
			kstream.From[string, string](b, "in", nil, nil).To("out")
			topology.RegisterSerde(b, serde.String())
		}, []string{"RegisterSerde[string] after an operation needed a serde for string"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			tc.add(b)
			_, err := b.Build()
			if err == nil {
				t.Fatal("Build succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Build error %v, want one containing %q", err, w)
				}
			}
			if tc.not != "" && strings.Contains(err.Error(), tc.not) {
				t.Errorf("Build error %v contains %q", err, tc.not)
			}
		})
	}
}

// TestRegisteredSerdeComesAfterKnownOnes: a serde given to an operation,
// and the serde a stream carries from its source, win over the builder's;
// the builder's wins over the built-in default.
func TestRegisteredSerdeComesAfterKnownOnes(t *testing.T) {
	upper := serde.Func(func(dst []byte, _ string, v string) ([]byte, error) {
		return append(dst, strings.ToUpper(v)...), nil
	}, func(_ string, data []byte) (string, error) { return string(data), nil })
	b := topology.NewBuilder()
	topology.RegisterSerde(b, upper)
	in := kstream.From(b, "in", serde.String(), serde.String())
	in.To("as-read")                                                   // the source's serdes
	in.To("given", kstream.WithSerdes(serde.String(), serde.String())) // given
	kstream.MapValues(in, func(_, v string) string { return v }).To("mapped")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	testutil.NewInputTopic(d, "in", serde.String(), serde.String()).Pipe("k", "v")
	for topic, want := range map[string]string{"as-read": "k:v", "given": "k:v", "mapped": "k:V"} {
		kv := testutil.NewOutputTopic(d, topic, serde.String(), serde.String()).ReadKeyValue()
		if got := kv.Key + ":" + kv.Value; got != want {
			t.Errorf("%s: %s, want %s", topic, got, want)
		}
	}
}
