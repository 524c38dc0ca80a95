package kstream_test

import (
	"strings"
	"testing"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// valueLength forwards the length of each value, keeping the key.
type valueLength struct {
	ctx topology.FixedKeyContext[string, int32]
}

func (p *valueLength) Init(ctx topology.FixedKeyContext[string, int32]) error {
	p.ctx = ctx
	return nil
}

func (p *valueLength) Process(r topology.FixedKeyRecord[string, string]) error {
	return p.ctx.Forward(topology.FixedKeyWithValue(r, int32(len(r.Value))))
}

func (p *valueLength) Close() error { return nil }

// TestProcessValues mirrors KStreamImplTest.shouldProcessValues: the
// processor node takes its Named name and keeps keys and timestamps.
func TestProcessValues(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "input", serde.String(), serde.String())
	kstream.ProcessValues(s, func() topology.FixedKeyProcessor[string, string, int32] { return &valueLength{} }, kstream.Named("fkp")).
		To("output")
	top := build(t, b)
	want := `Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [input])
	  --> fkp
	Processor: fkp (stores: [])
	  --> KSTREAM-SINK-0000000001
	  <-- KSTREAM-SOURCE-0000000000
	Sink: KSTREAM-SINK-0000000001 (topic: output)
	  <-- fkp
`
	if got := top.Describe().String(); trimLines(got) != trimLines(want) {
		t.Errorf("Describe:\n%s\nwant:\n%s", got, want)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
	output := testutil.NewOutputTopic(d, "output", serde.String(), serde.Int32())
	for _, r := range []struct {
		k, v string
		ms   int64
	}{{"A", "0", 5}, {"B", "00", 100}, {"C", "000", 0}, {"D", "0000", 0}, {"A", "00000", 10}, {"A", "000000", 8}} {
		in.PipeAt(r.k, r.v, at(r.ms))
	}
	expect(t, output,
		out[string, int32]{Key: "A", Value: 1, TS: 5}, out[string, int32]{Key: "B", Value: 2, TS: 100},
		out[string, int32]{Key: "C", Value: 3, TS: 0}, out[string, int32]{Key: "D", Value: 4, TS: 0},
		out[string, int32]{Key: "A", Value: 5, TS: 10}, out[string, int32]{Key: "A", Value: 6, TS: 8})
}

// updater is KStreamNewProcessorApiTest's TransformerSupplier: it keeps
// each key's first updated value in the store "store" and forwards the
// updated value.
type updater struct {
	ctx   topology.FixedKeyContext[string, string]
	store state.KeyValueStore[string, string]
}

func (p *updater) Init(ctx topology.FixedKeyContext[string, string]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[string, string](ctx, "store")
	p.store = s
	return err
}

func (p *updater) Process(r topology.FixedKeyRecord[string, string]) error {
	v := r.Value + "Updated"
	if _, _, err := p.store.PutIfAbsent(r.Key(), v); err != nil {
		return err
	}
	return p.ctx.Forward(topology.FixedKeyWithValue(r, v))
}

func (p *updater) Close() error { return nil }

// TestProcessValuesWithStore mirrors KStreamNewProcessorApiTest.
// shouldGetStateStoreWithStreamBuilder: a store declared on the builder and
// connected with WithStores.
func TestProcessValuesWithStore(t *testing.T) {
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "store", serde.String(), serde.String(), state.InMemory())
	s := kstream.From(b, "input", serde.String(), serde.String())
	kstream.ProcessValues(s, func() topology.FixedKeyProcessor[string, string, string] { return &updater{} }, kstream.WithStores("store")).
		To("output")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
	output := testutil.NewOutputTopic(d, "output", serde.String(), serde.String())
	in.Pipe("a", "foo")
	in.Pipe("b", "bar")
	in.Pipe("c", "baz")
	expectKVs(t, output, testutil.KV("a", "fooUpdated"), testutil.KV("b", "barUpdated"), testutil.KV("c", "bazUpdated"))
	store := testutil.KeyValueStore[string, string](d, "store")
	for k, want := range map[string]string{"a": "fooUpdated", "b": "barUpdated", "c": "bazUpdated"} {
		if v, ok := store.Get(k); !ok || v != want {
			t.Errorf("store[%s] = %q, %v; want %q", k, v, ok, want)
		}
	}
}

// TestProcessValuesNeedsNoRepartition checks what makes ProcessValues
// differ from Process: its records keep their keys, so an aggregation after
// it reads the stream as it is, where one after Process repartitions.
func TestProcessValuesNeedsNoRepartition(t *testing.T) {
	for _, fixedKey := range []bool{true, false} {
		b := topology.NewBuilder()
		s := kstream.From(b, "input", serde.String(), serde.String())
		var lengths kstream.Stream[string, int32]
		if fixedKey {
			lengths = kstream.ProcessValues(s, func() topology.FixedKeyProcessor[string, string, int32] { return &valueLength{} })
		} else {
			lengths = kstream.Process(s, func() topology.Processor[string, string, string, int32] { return &keyKeepingLength{} })
		}
		ktable.GroupByKey(lengths).Count(ktable.Named("counts"))
		desc := build(t, b).Describe().String()
		if got := strings.Contains(desc, "counts-repartition"); got == fixedKey {
			t.Errorf("ProcessValues=%v: repartition topic %v, want %v:\n%s", fixedKey, got, !fixedKey, desc)
		}
	}
}

// keyKeepingLength is valueLength as a plain Processor: it keeps keys, but
// nothing says so.
type keyKeepingLength struct {
	ctx topology.Context[string, int32]
}

func (p *keyKeepingLength) Init(ctx topology.Context[string, int32]) error { p.ctx = ctx; return nil }

func (p *keyKeepingLength) Process(r topology.Record[string, string]) error {
	return p.ctx.Forward(topology.WithValue(r, int32(len(r.Value))))
}

func (p *keyKeepingLength) Close() error { return nil }

// TestProcessValuesNullsAndErrors mirrors KStreamImplTest's
// shouldNotAllowNullProcessSupplierOnProcessValues (a Build error here) and
// checks that tombstones and null keys reach the processor marked, and stay
// so when forwarded.
func TestProcessValuesNullsAndErrors(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "input", serde.String(), serde.String())
	kstream.ProcessValues[string, string, int32](s, nil, kstream.Named("p"))
	buildErr(t, b, `ProcessValues "p": nil processor supplier`)

	b = topology.NewBuilder()
	s = kstream.From(b, "input", serde.String(), serde.String())
	kstream.ProcessValues(s, func() topology.FixedKeyProcessor[string, string, string] { return &passNulls{} }).To("output")
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	in := testutil.NewInputTopic(d, "input", serde.String(), serde.String())
	output := testutil.NewOutputTopic(d, "output", serde.String(), serde.String())
	in.PipeRecords(topology.Tombstone(topology.Record[string, string]{Key: "k"}))
	in.PipeRecords(topology.NullKey(topology.Record[string, string]{Value: "v"}))
	got := output.ReadAll()
	if len(got) != 2 || !got[0].NullValue || got[0].Key != "k" || !got[1].NullKey || got[1].Value != "v!" {
		t.Fatalf("got %+v, want the tombstone of k and v! with a null key", got)
	}
}

// passNulls forwards tombstones as they are and appends "!" to values.
type passNulls struct {
	ctx topology.FixedKeyContext[string, string]
}

func (p *passNulls) Init(ctx topology.FixedKeyContext[string, string]) error { p.ctx = ctx; return nil }

func (p *passNulls) Process(r topology.FixedKeyRecord[string, string]) error {
	if r.IsTombstone() {
		return p.ctx.Forward(r)
	}
	return p.ctx.Forward(topology.FixedKeyWithValue(r, r.Value+"!"))
}

func (p *passNulls) Close() error { return nil }

// trimLines drops the indentation and blank lines of a Describe output.
func trimLines(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
