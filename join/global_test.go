package join_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// globalJoinHarness is the set-up of Kafka Streams' KStreamGlobalKTableJoinTest
// and KStreamGlobalKTableLeftJoinTest: a stream of integer keys whose values
// may carry, after a comma, the key of a global table row.
type globalJoinHarness struct {
	t      *testing.T
	d      *testutil.Driver
	stream *testutil.InputTopic[*int32, string]
	table  *testutil.InputTopic[*string, string]
	out    *testutil.OutputTopic[*int32, string]
}

var globalJoinKeys = []int32{0, 1, 2, 3}

func newGlobalJoinHarness(t *testing.T, left bool) *globalJoinHarness {
	b := topology.NewBuilder()
	keys := serde.Ptr(serde.Int32())
	s := kstream.From(b, "streamTopic", keys, serde.String())
	g := ktable.Global(b, "globalTableTopic", serde.Ptr(serde.String()), serde.String())
	// The second comma-separated token is the table key; without one the
	// mapper returns nil: a null key.
	mapper := func(_ *int32, v string) *string {
		tokens := strings.Split(v, ",")
		if len(tokens) > 1 {
			return &tokens[1]
		}
		return nil
	}
	var joined kstream.Stream[*int32, string]
	if left {
		joined = join.StreamGlobalLeft(s, g, mapper, func(_ *int32, l string, r *string) string {
			if r == nil {
				return l + "+null"
			}
			return l + "+" + *r
		})
	} else {
		joined = join.StreamGlobal(s, g, mapper, func(_ *int32, l, r string) string { return l + "+" + r })
	}
	joined.To("output", kstream.WithSerdes(keys, serde.String()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	return &globalJoinHarness{
		t: t, d: d,
		// Stream timestamps advance by 1 ms per record, table ones do not,
		// as in Kafka's tests.
		stream: testutil.NewInputTopic(d, "streamTopic", keys, serde.String()).AutoAdvance(time.Millisecond),
		table:  testutil.NewInputTopic(d, "globalTableTopic", serde.Ptr(serde.String()), serde.String()),
		out:    testutil.NewOutputTopic(d, "output", keys, serde.String()),
	}
}

func (h *globalJoinHarness) pushToStream(n int, prefix string, foreignKey, nullKey bool) {
	for i := range n {
		k := globalJoinKeys[i]
		v := fmt.Sprintf("%s%d", prefix, k)
		if foreignKey {
			v += fmt.Sprintf(",FKey%d", k)
		}
		key := &k
		if nullKey && i == 0 {
			key = nil
		}
		h.stream.Pipe(key, v)
	}
}

func (h *globalJoinHarness) pushToGlobalTable(n int, prefix string) {
	for i := range n {
		k := fmt.Sprintf("FKey%d", globalJoinKeys[i])
		h.table.Pipe(&k, fmt.Sprintf("%s%d", prefix, globalJoinKeys[i]))
	}
}

func (h *globalJoinHarness) pushNullValueToGlobalTable(n int) {
	for i := range n {
		k := fmt.Sprintf("FKey%d", globalJoinKeys[i])
		h.table.PipeRecords(topology.Tombstone(topology.Record[*string, string]{Key: &k}))
	}
}

// kvt is an output record as Kafka's KeyValueTimestamp prints it; a null key
// prints as "null".
type kvt struct {
	key   string
	value string
	ts    int64
}

func (h *globalJoinHarness) output() []kvt {
	var got []kvt
	for _, r := range h.out.ReadAll() {
		key := "null"
		if !r.NullKey {
			key = fmt.Sprint(*r.Key)
		}
		got = append(got, kvt{key, r.Value, r.Timestamp.UnixMilli()})
	}
	return got
}

// globalStep is one action of a test and the output it must produce.
type globalStep struct {
	do   func(h *globalJoinHarness)
	want []kvt
}

func stream(n int, prefix string, foreignKey, nullKey bool) func(*globalJoinHarness) {
	return func(h *globalJoinHarness) { h.pushToStream(n, prefix, foreignKey, nullKey) }
}

func table(n int, prefix string) func(*globalJoinHarness) {
	return func(h *globalJoinHarness) { h.pushToGlobalTable(n, prefix) }
}

func tableNulls(n int) func(*globalJoinHarness) {
	return func(h *globalJoinHarness) { h.pushNullValueToGlobalTable(n) }
}

func runGlobalSteps(t *testing.T, left bool, steps []globalStep) {
	h := newGlobalJoinHarness(t, left)
	for i, st := range steps {
		st.do(h)
		if got := h.output(); !slices.Equal(got, st.want) {
			t.Fatalf("step %d: output %v, want %v", i, got, st.want)
		}
	}
}

// TestStreamGlobal mirrors Kafka Streams' KStreamGlobalKTableJoinTest.
func TestStreamGlobal(t *testing.T) {
	tests := []struct {
		name  string
		steps []globalStep
	}{
		{"shouldNotJoinWithEmptyGlobalTableOnStreamUpdates", []globalStep{
			{stream(2, "X", true, false), nil},
		}},
		{"shouldNotJoinOnGlobalTableUpdates", []globalStep{
			{stream(2, "X", true, false), nil},
			{table(2, "Y"), nil},
			{stream(4, "X", true, false), []kvt{{"0", "X0,FKey0+Y0", 2}, {"1", "X1,FKey1+Y1", 3}}},
			{table(4, "YY"), nil},
			{stream(4, "X", true, false), []kvt{{"0", "X0,FKey0+YY0", 6}, {"1", "X1,FKey1+YY1", 7}, {"2", "X2,FKey2+YY2", 8}, {"3", "X3,FKey3+YY3", 9}}},
			{table(4, "YYY"), nil},
		}},
		{"shouldJoinOnlyIfMatchFoundOnStreamUpdates", []globalStep{
			{table(2, "Y"), nil},
			{stream(4, "X", true, false), []kvt{{"0", "X0,FKey0+Y0", 0}, {"1", "X1,FKey1+Y1", 1}}},
		}},
		{"shouldClearGlobalTableEntryOnNullValueUpdates", []globalStep{
			{table(4, "Y"), nil},
			{stream(4, "X", true, false), []kvt{{"0", "X0,FKey0+Y0", 0}, {"1", "X1,FKey1+Y1", 1}, {"2", "X2,FKey2+Y2", 2}, {"3", "X3,FKey3+Y3", 3}}},
			{tableNulls(2), nil},
			{stream(4, "XX", true, false), []kvt{{"2", "XX2,FKey2+Y2", 6}, {"3", "XX3,FKey3+Y3", 7}}},
		}},
		{"shouldNotJoinOnNullKeyMapperValues", []globalStep{
			{table(4, "Y"), nil},
			{stream(4, "XXX", false, false), nil},
		}},
		{"shouldJoinOnNullKeyWithNonNullKeyMapperValues", []globalStep{
			{table(2, "Y"), nil},
			{stream(4, "X", true, true), []kvt{{"null", "X0,FKey0+Y0", 0}, {"1", "X1,FKey1+Y1", 1}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runGlobalSteps(t, false, tt.steps) })
	}
}

// TestStreamGlobalLeft mirrors Kafka Streams' KStreamGlobalKTableLeftJoinTest.
func TestStreamGlobalLeft(t *testing.T) {
	tests := []struct {
		name  string
		steps []globalStep
	}{
		{"shouldNotJoinWithEmptyGlobalTableOnStreamUpdates", []globalStep{
			{stream(2, "X", true, false), []kvt{{"0", "X0,FKey0+null", 0}, {"1", "X1,FKey1+null", 1}}},
		}},
		{"shouldNotJoinOnGlobalTableUpdates", []globalStep{
			{stream(2, "X", true, false), []kvt{{"0", "X0,FKey0+null", 0}, {"1", "X1,FKey1+null", 1}}},
			{table(2, "Y"), nil},
			{stream(4, "X", true, false), []kvt{{"0", "X0,FKey0+Y0", 2}, {"1", "X1,FKey1+Y1", 3}, {"2", "X2,FKey2+null", 4}, {"3", "X3,FKey3+null", 5}}},
			{table(4, "YY"), nil},
			{stream(4, "X", true, false), []kvt{{"0", "X0,FKey0+YY0", 6}, {"1", "X1,FKey1+YY1", 7}, {"2", "X2,FKey2+YY2", 8}, {"3", "X3,FKey3+YY3", 9}}},
			{table(4, "YYY"), nil},
		}},
		{"shouldJoinRegardlessIfMatchFoundOnStreamUpdates", []globalStep{
			{table(2, "Y"), nil},
			{stream(4, "X", true, false), []kvt{{"0", "X0,FKey0+Y0", 0}, {"1", "X1,FKey1+Y1", 1}, {"2", "X2,FKey2+null", 2}, {"3", "X3,FKey3+null", 3}}},
		}},
		{"shouldClearGlobalTableEntryOnNullValueUpdates", []globalStep{
			{table(4, "Y"), nil},
			{stream(4, "X", true, false), []kvt{{"0", "X0,FKey0+Y0", 0}, {"1", "X1,FKey1+Y1", 1}, {"2", "X2,FKey2+Y2", 2}, {"3", "X3,FKey3+Y3", 3}}},
			{tableNulls(2), nil},
			{stream(4, "XX", true, false), []kvt{{"0", "XX0,FKey0+null", 4}, {"1", "XX1,FKey1+null", 5}, {"2", "XX2,FKey2+Y2", 6}, {"3", "XX3,FKey3+Y3", 7}}},
		}},
		{"shouldNotJoinOnNullKeyMapperValues", []globalStep{
			{table(4, "Y"), nil},
			{stream(4, "XXX", false, false), nil},
		}},
		{"shouldJoinOnNullKeyWithNonNullKeyMapperValues", []globalStep{
			{table(4, "Y"), nil},
			{stream(4, "X", true, true), []kvt{{"null", "X0,FKey0+Y0", 0}, {"1", "X1,FKey1+Y1", 1}, {"2", "X2,FKey2+Y2", 2}, {"3", "X3,FKey3+Y3", 3}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runGlobalSteps(t, true, tt.steps) })
	}
}

// The join needs no repartition topic, and Describe shows its global store
// as Kafka Streams does, with Kafka's node names.
func TestStreamGlobalDescribe(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "streamTopic", serde.Int32(), serde.String())
	g := ktable.Global(b, "globalTableTopic", serde.String(), serde.String())
	join.StreamGlobal(s, g, func(_ int32, v string) string { return v }, func(_ int32, l, r string) string { return l + r })
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := `Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [streamTopic])
      --> KSTREAM-JOIN-0000000004
    Processor: KSTREAM-JOIN-0000000004 (stores: [])
      --> none
      <-- KSTREAM-SOURCE-0000000000

  Sub-topology: 1 for global store (will not generate tasks)
    Source: KSTREAM-SOURCE-0000000002 (topics: [globalTableTopic])
      --> KTABLE-SOURCE-0000000003
    Processor: KTABLE-SOURCE-0000000003 (stores: [globalTableTopic-STATE-STORE-0000000001])
      --> none
      <-- KSTREAM-SOURCE-0000000002
`
	if got := top.Describe().String(); got != want {
		t.Errorf("Describe:\n%s\nwant:\n%s", got, want)
	}
	if got := top.SourceTopics(); !slices.Equal(got, []string{"streamTopic"}) {
		t.Errorf("SourceTopics() = %q: the global table's topic is read outside the consumer group", got)
	}
}

// TestStreamGlobalBuildErrors lists the mistakes Build reports.
func TestStreamGlobalBuildErrors(t *testing.T) {
	mapper := func(_, v string) string { return v }
	joiner := func(_, l, r string) string { return l + r }
	cases := []struct {
		name  string
		build func(b *topology.Builder)
		want  string
	}{
		{"nil key mapper", func(b *topology.Builder) {
			join.StreamGlobal(kstream.From(b, "s", serde.String(), serde.String()),
				ktable.Global(b, "g", serde.String(), serde.String()), nil, joiner, join.Named("j"))
		}, `join.StreamGlobal "j": nil key mapper`},
		{"nil joiner", func(b *topology.Builder) {
			join.StreamGlobalLeft[string, string, string, string, string](kstream.From(b, "s", serde.String(), serde.String()),
				ktable.Global(b, "g", serde.String(), serde.String()), mapper, nil, join.Named("j"))
		}, `join.StreamGlobalLeft "j": nil joiner`},
		{"option that does not apply", func(b *topology.Builder) {
			join.StreamGlobal(kstream.From(b, "s", serde.String(), serde.String()),
				ktable.Global(b, "g", serde.String(), serde.String()), mapper, joiner, join.WithKeySerde(serde.String()))
		}, `join.StreamGlobal: option WithKeySerde does not apply (join.StreamGlobal takes Named)`},
		{"different builders", func(b *topology.Builder) {
			join.StreamGlobal(kstream.From(b, "s", serde.String(), serde.String()),
				ktable.Global(topology.NewBuilder(), "g", serde.String(), serde.String()), mapper, joiner, join.Named("j"))
		}, `join.StreamGlobal "j": the stream and the global table belong to different builders`},
		{"global table without serdes", func(b *topology.Builder) {
			ktable.Global[point, string](b, "g", nil, serde.String())
		}, `no serde for join_test.point, needed by ktable.Global "g" (key)`},
		{"global table with store options", func(b *topology.Builder) {
			ktable.Global(b, "g", serde.String(), serde.String(), ktable.WithStoreOptions(state.InMemory()))
		}, `ktable.Global: option WithStoreOptions does not apply`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := topology.NewBuilder()
			c.build(b)
			_, err := b.Build()
			if !errors.Is(err, topology.ErrInvalidTopology) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Build: %v, want an error containing %q", err, c.want)
			}
		})
	}
}
