package topology_test

import (
	"testing"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// tombstoner turns records whose value is "delete" into tombstones and
// passes the rest on, reporting which input records were tombstones.
type tombstoner struct {
	ctx  topology.Context[string, int64]
	seen *[]bool
}

func (p *tombstoner) Init(ctx topology.Context[string, int64]) error { p.ctx = ctx; return nil }
func (p *tombstoner) Close() error                                   { return nil }
func (p *tombstoner) Process(r topology.Record[string, int64]) error {
	*p.seen = append(*p.seen, r.IsTombstone())
	if r.Value == 42 {
		return p.ctx.Forward(topology.Tombstone(r))
	}
	return p.ctx.Forward(r)
}

// TestNullsPassThrough checks that Kafka nulls survive a topology whose
// value type has no nil: a null read is seen as a tombstone and written as
// null, and a processor can make a tombstone of a value.
func TestNullsPassThrough(t *testing.T) {
	var seen []bool
	b := topology.NewBuilder()
	topology.AddSource(b, "src", topology.Source[string, int64]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.Int64()})
	topology.AddProcessor(b, "p", func() topology.Processor[string, int64, string, int64] { return &tombstoner{seen: &seen} }, "src")
	topology.AddSink(b, "sink", topology.Sink[string, int64]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.Int64()}, "p")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())

	in.Pipe("a", 0) // a zero value is not a null
	if err := in.PipeRaw([]byte("b"), nil, d.WallClockTime()); err != nil {
		t.Fatal(err)
	}
	in.Pipe("c", 42)
	if err := in.PipeRaw(nil, []byte{0, 0, 0, 0, 0, 0, 0, 7}, d.WallClockTime()); err != nil {
		t.Fatal(err)
	}

	if want := []bool{false, true, false, false}; len(seen) != 4 || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] || seen[3] != want[3] {
		t.Fatalf("processor saw tombstones %v, want %v", seen, want)
	}
	recs := out.ReadAll()
	if len(recs) != 4 {
		t.Fatalf("%d output records", len(recs))
	}
	for i, want := range []struct {
		key       string
		nullKey   bool
		nullValue bool
		value     int64
	}{{"a", false, false, 0}, {"b", false, true, 0}, {"c", false, true, 0}, {"", true, false, 7}} {
		r := recs[i]
		if r.Key != want.key || r.NullKey != want.nullKey || r.NullValue != want.nullValue || r.Value != want.value {
			t.Errorf("record %d = key %q (null %v) value %d (null %v), want %+v", i, r.Key, r.NullKey, r.Value, r.NullValue, want)
		}
	}
}
