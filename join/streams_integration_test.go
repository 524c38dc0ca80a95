package join_test

import (
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// The tests of this file replay Kafka Streams' StreamStreamJoinIntegrationTest
// over AbstractJoinIntegrationTest's inputWithoutOutOfOrderData (and
// leftInput for the self-join): key 0 or null ("_"), values with nulls,
// joined within 10 s with a grace of 24 h, the joiner writing
// "left-right". Each row is one input record and the results it makes.

// integrationWindows are the windows of every integration test.
var integrationWindows = join.Within(10*time.Second, 24*time.Hour)

// integrationRows are the expected results of testInner, testLeft and
// testOuter, and of their Repartitioned variants, which expect the same.
var integrationRows = map[kind][]step{
	inner: {
		{"L0:null@1", ""},
		{"R0:null@2", ""},
		{"L0:A@3", ""},
		{"R0:a@4", "0:A-a@4"},
		{"L0:B@5", "0:B-a@5"},
		{"R0:b@6", "0:A-b@6 0:B-b@6"},
		{"L0:null@7", ""},
		{"R0:null@8", ""},
		{"L0:C@9", "0:C-a@9 0:C-b@9"},
		{"R0:c@10", "0:A-c@10 0:B-c@10 0:C-c@10"},
		{"R0:null@11", ""},
		{"L0:null@12", ""},
		{"R0:null@13", ""},
		{"R0:d@14", "0:A-d@14 0:B-d@14 0:C-d@14"},
		{"L0:D@15", "0:D-a@15 0:D-b@15 0:D-c@15 0:D-d@15"},
		{"L_:E@16", ""},
		{"R_:e@17", ""},
	},
	leftJoin: {
		{"L0:null@1", ""},
		{"R0:null@2", ""},
		{"L0:A@3", ""},
		{"R0:a@4", "0:A-a@4"},
		{"L0:B@5", "0:B-a@5"},
		{"R0:b@6", "0:A-b@6 0:B-b@6"},
		{"L0:null@7", ""},
		{"R0:null@8", ""},
		{"L0:C@9", "0:C-a@9 0:C-b@9"},
		{"R0:c@10", "0:A-c@10 0:B-c@10 0:C-c@10"},
		{"R0:null@11", ""},
		{"L0:null@12", ""},
		{"R0:null@13", ""},
		{"R0:d@14", "0:A-d@14 0:B-d@14 0:C-d@14"},
		{"L0:D@15", "0:D-a@15 0:D-b@15 0:D-c@15 0:D-d@15"},
		{"L_:E@16", "_:E-null@16"},
		{"R_:e@17", ""},
	},
	outerJoin: {
		{"L0:null@1", ""},
		{"R0:null@2", ""},
		{"L0:A@3", ""},
		{"R0:a@4", "0:A-a@4"},
		{"L0:B@5", "0:B-a@5"},
		{"R0:b@6", "0:A-b@6 0:B-b@6"},
		{"L0:null@7", ""},
		{"R0:null@8", ""},
		{"L0:C@9", "0:C-a@9 0:C-b@9"},
		{"R0:c@10", "0:A-c@10 0:B-c@10 0:C-c@10"},
		{"R0:null@11", ""},
		{"L0:null@12", ""},
		{"R0:null@13", ""},
		{"R0:d@14", "0:A-d@14 0:B-d@14 0:C-d@14"},
		{"L0:D@15", "0:D-a@15 0:D-b@15 0:D-c@15 0:D-d@15"},
		{"L_:E@16", "_:E-null@16"},
		{"R_:e@17", "_:null-e@17"},
	},
}

// TestIntegration mirrors testInner, testLeft and testOuter.
func TestIntegration(t *testing.T) {
	for _, k := range []kind{inner, leftJoin, outerJoin} {
		t.Run(k.String(), func(t *testing.T) {
			b := topology.NewBuilder()
			l := kstream.From(b, "topic1", serde.Int32(), serde.String())
			r := kstream.From(b, "topic2", serde.Int32(), serde.String())
			joinSep(k, l, r, integrationWindows, "-").To("out")
			h := startHarness(t, b)
			h.run(t, integrationRows[k])
			checkIntegrationDropped(t, h, k)
		})
	}
}

// TestIntegrationRepartitioned mirrors testInnerRepartitioned,
// testLeftRepartitioned and testOuterRepartitioned: both inputs pass
// through a processor that may change keys (here it keeps them, null keys
// included), so the join repartitions them first. An outer side's null-key
// records cross the repartition topic and make their results, as in Kafka
// Streams 3.7 and later.
func TestIntegrationRepartitioned(t *testing.T) {
	for _, k := range []kind{inner, leftJoin, outerJoin} {
		t.Run(k.String(), func(t *testing.T) {
			b := topology.NewBuilder()
			l := rekey(kstream.From(b, "topic1", serde.Int32(), serde.String()))
			r := rekey(kstream.From(b, "topic2", serde.Int32(), serde.String()))
			joinSep(k, l, r, integrationWindows, "-",
				join.WithKeySerde(serde.Int32()), join.WithValueSerdes(serde.String(), serde.String())).
				To("out", kstream.WithSerdes(serde.Int32(), serde.String()))
			startHarness(t, b).run(t, integrationRows[k])
		})
	}
}

// TestIntegrationRepartitionedWithMap replays testInnerRepartitioned,
// testLeftRepartitioned and testOuterRepartitioned as Kafka Streams writes
// them: the left stream goes through map(MockMapper.noOpKeyValueMapper()),
// the right through flatMap(noOpFlatKeyValueMapper()) and
// selectKey(selectKeyKeyValueMapper()), all of which return their input,
// and no serde is given. The null values and null keys of the input stay
// nulls through the mappers (kstream keeps a null the function returns as
// the zero value it got), so tombstones never join and the null-key
// records do not join as key 0.
func TestIntegrationRepartitionedWithMap(t *testing.T) {
	for _, k := range []kind{inner, leftJoin, outerJoin} {
		t.Run(k.String(), func(t *testing.T) {
			b := topology.NewBuilder()
			l := kstream.Map(kstream.From(b, "topic1", serde.Int32(), serde.String()),
				func(k int32, v string) (int32, string) { return k, v })
			r := kstream.SelectKey(
				kstream.FlatMap(kstream.From(b, "topic2", serde.Int32(), serde.String()),
					func(k int32, v string) []kstream.KeyValue[int32, string] {
						return []kstream.KeyValue[int32, string]{kstream.Pair(k, v)}
					}),
				func(k int32, _ string) int32 { return k })
			joinSep(k, l, r, integrationWindows, "-").To("out")
			h := startHarness(t, b)
			h.run(t, integrationRows[k])
			checkIntegrationDropped(t, h, k)
		})
	}
}

// checkIntegrationDropped checks the records a join of kind k dropped in
// an integration test: the seven null values never join, and neither do
// the null keys of inner sides (dropped before the repartition topics when
// the inputs are re-keyed).
func checkIntegrationDropped(t *testing.T, h *harness, k kind) {
	t.Helper()
	want := map[kind]int64{inner: 9, leftJoin: 8, outerJoin: 7}[k]
	if n := h.d.DroppedRecords(); n != want {
		t.Errorf("dropped %d records, want %d", n, want)
	}
}

// rekey marks s for repartitioning without changing its records.
func rekey(s kstream.Stream[int32, string]) kstream.Stream[int32, string] {
	return kstream.Process(s, func() topology.Processor[int32, string, int32, string] { return &passProc{} })
}

type passProc struct {
	ctx topology.Context[int32, string]
}

func (p *passProc) Init(ctx topology.Context[int32, string]) error { p.ctx = ctx; return nil }

func (p *passProc) Process(r topology.Record[int32, string]) error { return p.ctx.Forward(r) }

func (p *passProc) Close() error { return nil }

// TestIntegrationMultiInner mirrors testMultiInner: a join of a join with
// the right stream again.
func TestIntegrationMultiInner(t *testing.T) {
	b := topology.NewBuilder()
	l := kstream.From(b, "topic1", serde.Int32(), serde.String())
	r := kstream.From(b, "topic2", serde.Int32(), serde.String())
	first := joinSep(inner, l, r, integrationWindows, "-")
	joinSep(inner, first, r, integrationWindows, "-").To("out")
	startHarness(t, b).run(t, []step{
		{"L0:null@1", ""},
		{"R0:null@2", ""},
		{"L0:A@3", ""},
		{"R0:a@4", "0:A-a-a@4"},
		{"L0:B@5", "0:B-a-a@5"},
		{"R0:b@6", "0:A-b-a@6 0:B-b-a@6 0:A-a-b@6 0:B-a-b@6 0:A-b-b@6 0:B-b-b@6"},
		{"L0:null@7", ""},
		{"R0:null@8", ""},
		{"L0:C@9", "0:C-a-a@9 0:C-a-b@9 0:C-b-a@9 0:C-b-b@9"},
		{"R0:c@10", "0:A-c-a@10 0:A-c-b@10 0:B-c-a@10 0:B-c-b@10 0:C-c-a@10 0:C-c-b@10 0:A-a-c@10 0:B-a-c@10 0:A-b-c@10 0:B-b-c@10 0:C-a-c@10 0:C-b-c@10 0:A-c-c@10 0:B-c-c@10 0:C-c-c@10"},
		{"R0:null@11", ""},
		{"L0:null@12", ""},
		{"R0:null@13", ""},
		{"R0:d@14", "0:A-d-a@14 0:A-d-b@14 0:A-d-c@14 0:B-d-a@14 0:B-d-b@14 0:B-d-c@14 0:C-d-a@14 0:C-d-b@14 0:C-d-c@14 0:A-a-d@14 0:B-a-d@14 0:A-b-d@14 0:B-b-d@14 0:C-a-d@14 0:C-b-d@14 0:A-c-d@14 0:B-c-d@14 0:C-c-d@14 0:A-d-d@14 0:B-d-d@14 0:C-d-d@14"},
		{"L0:D@15", "0:D-a-a@15 0:D-a-b@15 0:D-a-c@15 0:D-a-d@15 0:D-b-a@15 0:D-b-b@15 0:D-b-c@15 0:D-b-d@15 0:D-c-a@15 0:D-c-b@15 0:D-c-c@15 0:D-c-d@15 0:D-d-a@15 0:D-d-b@15 0:D-d-c@15 0:D-d-d@15"},
		{"L_:E@16", ""},
		{"R_:e@17", ""},
	})
}

// TestIntegrationSelfJoin mirrors testSelfJoin: a stream joined with
// itself, each record meeting itself and every earlier one. Kafka runs it
// with topology.optimization=all, so with one store; the two-store join
// gives the same results.
func TestIntegrationSelfJoin(t *testing.T) {
	for _, o := range selfJoinWays {
		t.Run(o.String(), func(t *testing.T) {
			b := topology.NewBuilder()
			b.Optimize(o)
			l := kstream.From(b, "topic1", serde.Int32(), serde.String())
			joinSep(inner, l, l, integrationWindows, "-").To("out")
			startHarness(t, b).run(t, []step{
				{"L0:null@1", ""},
				{"L0:A@2", "0:A-A@2"},
				{"L0:B@3", "0:B-A@3 0:A-B@3 0:B-B@3"},
				{"L0:null@4", ""},
				{"L0:C@5", "0:C-A@5 0:C-B@5 0:A-C@5 0:B-C@5 0:C-C@5"},
				{"L0:null@6", ""},
				{"L0:D@7", "0:D-A@7 0:D-B@7 0:D-C@7 0:A-D@7 0:B-D@7 0:C-D@7 0:D-D@7"},
			})
		})
	}
}

// integrationOutOfOrderRows are the expected results of testInner,
// testLeft and testOuter as Kafka Streams published them before 3.5
// (apache/kafka 17b4569d706, "Test coverage for out-of-order data in
// joins"), for AbstractJoinIntegrationTest's input of that time, whose last
// four records come out of order. Later versions replay those tests without
// out-of-order data only.
var integrationOutOfOrderRows = map[kind][]step{
	inner: {
		{"L0:null@1", ""},
		{"R0:null@2", ""},
		{"L0:A@3", ""},
		{"R0:a@4", "0:A-a@4"},
		{"L0:B@5", "0:B-a@5"},
		{"R0:b@6", "0:A-b@6 0:B-b@6"},
		{"L0:null@7", ""},
		{"R0:null@8", ""},
		{"L0:C@9", "0:C-a@9 0:C-b@9"},
		{"R0:c@10", "0:A-c@10 0:B-c@10 0:C-c@10"},
		{"R0:null@11", ""},
		{"L0:null@12", ""},
		{"R0:null@13", ""},
		{"R0:d@14", "0:A-d@14 0:B-d@14 0:C-d@14"},
		{"L0:D@15", "0:D-a@15 0:D-b@15 0:D-c@15 0:D-d@15"},
		{"L0:E@4", "0:E-a@4 0:E-b@6 0:E-c@10 0:E-d@14"},
		{"R0:e@3", "0:A-e@3 0:E-e@4 0:B-e@5 0:C-e@9 0:D-e@15"},
		{"R0:f@7", "0:A-f@7 0:E-f@7 0:B-f@7 0:C-f@9 0:D-f@15"},
		{"L0:F@8", "0:F-e@8 0:F-a@8 0:F-b@8 0:F-f@8 0:F-c@10 0:F-d@14"},
	},
	leftJoin: {
		{"L0:null@1", ""},
		{"R0:null@2", ""},
		{"L0:A@3", ""},
		{"R0:a@4", "0:A-a@4"},
		{"L0:B@5", "0:B-a@5"},
		{"R0:b@6", "0:A-b@6 0:B-b@6"},
		{"L0:null@7", ""},
		{"R0:null@8", ""},
		{"L0:C@9", "0:C-a@9 0:C-b@9"},
		{"R0:c@10", "0:A-c@10 0:B-c@10 0:C-c@10"},
		{"R0:null@11", ""},
		{"L0:null@12", ""},
		{"R0:null@13", ""},
		{"R0:d@14", "0:A-d@14 0:B-d@14 0:C-d@14"},
		{"L0:D@15", "0:D-a@15 0:D-b@15 0:D-c@15 0:D-d@15"},
		{"L0:E@4", "0:E-a@4 0:E-b@6 0:E-c@10 0:E-d@14"},
		{"R0:e@3", "0:A-e@3 0:E-e@4 0:B-e@5 0:C-e@9 0:D-e@15"},
		{"R0:f@7", "0:A-f@7 0:E-f@7 0:B-f@7 0:C-f@9 0:D-f@15"},
		{"L0:F@8", "0:F-e@8 0:F-a@8 0:F-b@8 0:F-f@8 0:F-c@10 0:F-d@14"},
	},
	outerJoin: {
		{"L0:null@1", ""},
		{"R0:null@2", ""},
		{"L0:A@3", ""},
		{"R0:a@4", "0:A-a@4"},
		{"L0:B@5", "0:B-a@5"},
		{"R0:b@6", "0:A-b@6 0:B-b@6"},
		{"L0:null@7", ""},
		{"R0:null@8", ""},
		{"L0:C@9", "0:C-a@9 0:C-b@9"},
		{"R0:c@10", "0:A-c@10 0:B-c@10 0:C-c@10"},
		{"R0:null@11", ""},
		{"L0:null@12", ""},
		{"R0:null@13", ""},
		{"R0:d@14", "0:A-d@14 0:B-d@14 0:C-d@14"},
		{"L0:D@15", "0:D-a@15 0:D-b@15 0:D-c@15 0:D-d@15"},
		{"L0:E@4", "0:E-a@4 0:E-b@6 0:E-c@10 0:E-d@14"},
		{"R0:e@3", "0:A-e@3 0:E-e@4 0:B-e@5 0:C-e@9 0:D-e@15"},
		{"R0:f@7", "0:A-f@7 0:E-f@7 0:B-f@7 0:C-f@9 0:D-f@15"},
		{"L0:F@8", "0:F-e@8 0:F-a@8 0:F-b@8 0:F-f@8 0:F-c@10 0:F-d@14"},
	},
}

// TestIntegrationOutOfOrder replays testInner, testLeft and testOuter with
// out-of-order records: they join every record within 10 s, earlier or
// later, and their results take the later time of each pair.
func TestIntegrationOutOfOrder(t *testing.T) {
	for _, k := range []kind{inner, leftJoin, outerJoin} {
		t.Run(k.String(), func(t *testing.T) {
			b := topology.NewBuilder()
			l := kstream.From(b, "topic1", serde.Int32(), serde.String())
			r := kstream.From(b, "topic2", serde.Int32(), serde.String())
			joinSep(k, l, r, integrationWindows, "-").To("out")
			startHarness(t, b).run(t, integrationOutOfOrderRows[k])
		})
	}
}
