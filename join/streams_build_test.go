package join_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// TestWindowsValidate checks the windows Kafka Streams' JoinWindows rejects.
func TestWindowsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    join.Windows
		ok   bool
	}{
		{"zero", join.Windows{}, true},
		{"within", join.Within(ms(100), ms(10)), true},
		{"negative before", join.Within(ms(100), 0).Before(ms(-50)), true},
		{"negative window", join.Within(ms(100), 0).Before(ms(-150)), false},
		{"negative after", join.Within(0, 0).After(ms(-1)), false},
		{"negative grace", join.Within(ms(100), ms(-1)), false},
	} {
		err := tc.w.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v.Validate() = %v, want ok %v", tc.name, tc.w, err, tc.ok)
		}
		if err != nil && !errors.Is(err, join.ErrInvalidWindows) {
			t.Errorf("%s: error %v does not wrap ErrInvalidWindows", tc.name, err)
		}
	}
	w := join.Within(ms(100), ms(10)).Before(ms(20))
	if before, after := w.Bounds(); before != ms(20) || after != ms(100) || w.Grace() != ms(10) || w.Size() != ms(120) {
		t.Errorf("%v: bounds %v %v, grace %v, size %v", w, before, after, w.Grace(), w.Size())
	}
	if got, want := w.String(), "JoinWindows{beforeMs=20, afterMs=100, graceMs=10}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

type point struct{ x, y int }

// TestStreamsBuildErrors checks the mistakes Build reports.
func TestStreamsBuildErrors(t *testing.T) {
	type build func(b *topology.Builder, l, r kstream.Stream[string, string])
	for _, tc := range []struct {
		name string
		add  build
		want []string
	}{
		{"invalid windows", func(b *topology.Builder, l, r kstream.Stream[string, string]) {
			join.Streams(l, r, join.Within(ms(10), ms(-1)), func(_, a, b string) string { return a + b })
		}, []string{"Streams: invalid join windows: grace period -1ms is negative"}},
		{"negative window", func(b *topology.Builder, l, r kstream.Stream[string, string]) {
			join.StreamsLeft(l, r, join.Within(0, 0).Before(ms(-5)), func(_, a string, b *string) string { return a })
		}, []string{"StreamsLeft: invalid join windows: the window, before -5ms + after 0s, is negative"}},
		{"nil joiner", func(b *topology.Builder, l, r kstream.Stream[string, string]) {
			join.StreamsOuter[string, string, string, string](l, r, join.Within(ms(10), 0), nil)
		}, []string{"StreamsOuter: nil joiner"}},
		{"key serde of another type", func(b *topology.Builder, l, r kstream.Stream[string, string]) {
			join.Streams(l, r, join.Within(ms(10), 0), func(_, a, b string) string { return a + b },
				join.WithKeySerde(serde.Int64()))
		}, []string{"Streams: key serde is serde.int64Serde, want one for string"}},
		{"value serde of another type", func(b *topology.Builder, l, r kstream.Stream[string, string]) {
			join.Streams(l, r, join.Within(ms(10), 0), func(_, a, b string) string { return a + b },
				join.WithValueSerdes(serde.String(), serde.Int32()))
		}, []string{"Streams: right value serde is serde.int32Serde, want one for string"}},
		{"zero Option and empty name", func(b *topology.Builder, l, r kstream.Stream[string, string]) {
			join.Streams(l, r, join.Within(ms(10), 0), func(_, a, b string) string { return a + b }, join.Option{}, join.Named(""))
		}, []string{"Streams: zero Option", "Streams: Named with an empty name"}},
		{"no serde for the values", func(b *topology.Builder, l, r kstream.Stream[string, string]) {
			pl := kstream.MapValues(l, func(_, v string) point { return point{} })
			join.Streams(pl, r, join.Within(ms(10), 0), func(_ string, a point, b string) string { return b })
		}, []string{"no serde for join_test.point, needed by Streams (left value)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			l := kstream.From(b, "topic1", serde.String(), serde.String())
			r := kstream.From(b, "topic2", serde.String(), serde.String())
			tc.add(b, l, r)
			_, err := b.Build()
			if !errors.Is(err, topology.ErrInvalidTopology) {
				t.Fatalf("Build() = %v, want ErrInvalidTopology", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Build error\n%v\ndoes not say %q", err, w)
				}
			}
		})
	}
}

// TestStreamsNames checks the names of nodes and stores, generated and
// from Named, against Kafka Streams' (KStreamImplJoin).
func TestStreamsNames(t *testing.T) {
	for _, tc := range []struct {
		k     kind
		named bool
		want  []string
	}{
		{inner, false, []string{
			"Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-JOINTHIS-0000000004-store])",
			"Processor: KSTREAM-WINDOWED-0000000003 (stores: [KSTREAM-JOINOTHER-0000000005-store])",
			"Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-JOINOTHER-0000000005-store])",
			"Processor: KSTREAM-JOINOTHER-0000000005 (stores: [KSTREAM-JOINTHIS-0000000004-store])",
			"Processor: KSTREAM-MERGE-0000000006 (stores: [])",
		}},
		{leftJoin, false, []string{
			"Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-OUTEROTHER-0000000005-store, KSTREAM-OUTERSHARED-0000000004-store])",
			"Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [KSTREAM-JOINTHIS-0000000004-store, KSTREAM-OUTERSHARED-0000000004-store])",
		}},
		{outerJoin, false, []string{
			"Processor: KSTREAM-OUTERTHIS-0000000004 (stores: [KSTREAM-OUTEROTHER-0000000005-store, KSTREAM-OUTERSHARED-0000000004-store])",
			"Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [KSTREAM-OUTERTHIS-0000000004-store, KSTREAM-OUTERSHARED-0000000004-store])",
		}},
		{inner, true, []string{
			"Processor: j-this-windowed (stores: [j-this-join-store])",
			"Processor: j-other-windowed (stores: [j-other-join-store])",
			"Processor: j-this-join (stores: [j-other-join-store])",
			"Processor: j-other-join (stores: [j-this-join-store])",
			"Processor: j-merge (stores: [])",
		}},
		{leftJoin, true, []string{
			"Processor: j-this-join (stores: [j-outer-other-join-store, j-left-shared-join-store])",
			"Processor: j-outer-other-join (stores: [j-this-join-store, j-left-shared-join-store])",
		}},
		{outerJoin, true, []string{
			"Processor: j-outer-this-join (stores: [j-outer-other-join-store, j-outer-shared-join-store])",
			"Processor: j-outer-other-join (stores: [j-outer-this-join-store, j-outer-shared-join-store])",
		}},
	} {
		t.Run(tc.k.String()+map[bool]string{true: "-named"}[tc.named], func(t *testing.T) {
			b := topology.NewBuilder()
			l := kstream.From(b, "topic1", serde.String(), serde.String())
			r := kstream.From(b, "topic2", serde.String(), serde.String())
			var opts []join.Option
			if tc.named {
				opts = append(opts, join.Named("j"))
			}
			joinTopics(tc.k, l, r, join.Within(ms(10), 0), opts...).To("out")
			top, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			desc := top.Describe().String()
			for _, w := range tc.want {
				if !strings.Contains(desc, w) {
					t.Errorf("description\n%s\nhas no line %q", desc, w)
				}
			}
		})
	}
}

// TestStreamsRepartitionCopartitioned joins a rekeyed stream with a topic of
// three partitions: the join repartitions the stream through
// "<name>-left-repartition", which gets the three partitions of the topic
// it is co-partitioned with, so that every key meets its partners.
func TestStreamsRepartitionCopartitioned(t *testing.T) {
	b := topology.NewBuilder()
	l := rekey(kstream.From(b, "topic1", serde.Int32(), serde.String()))
	r := kstream.From(b, "topic2", serde.Int32(), serde.String())
	joinTopics(inner, l, r, join.Within(ms(10), 0), join.Named("j"),
		join.WithKeySerde(serde.Int32()), join.WithValueSerdes(serde.String(), serde.String())).
		To("out", kstream.WithSerdes(serde.Int32(), serde.String()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if desc := top.Describe().String(); !strings.Contains(desc, "(topic: j-left-repartition)") {
		t.Fatalf("no j-left-repartition topic in\n%s", desc)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app", Partitions: map[string]int{"topic1": 2, "topic2": 3}})
	h := &harness{
		d:     d,
		left:  testutil.NewInputTopic(d, "topic1", serde.Int32(), serde.String()),
		right: testutil.NewInputTopic(d, "topic2", serde.Int32(), serde.String()),
		out:   testutil.NewOutputTopic(d, "out", serde.Int32(), serde.String()),
	}
	h.run(t, []step{
		{recs("L", 6, "A", 0), ""},
		{recs("R", 6, "a", 5), "0:A0+a0@5 1:A1+a1@5 2:A2+a2@5 3:A3+a3@5 4:A4+a4@5 5:A5+a5@5"},
	})
}

// TestStreamsReuseRepartitionTopic mirrors KStreamKStreamJoinTest.
// shouldReuseRepartitionTopicWithGeneratedName: a rekeyed stream joined
// with two others is repartitioned once, through the topic named after its
// node, and both joins read it. Named joins
// (shouldCreateRepartitionTopicsWithUserProvidedName) each get their own.
func TestStreamsReuseRepartitionTopic(t *testing.T) {
	for _, named := range []bool{false, true} {
		b := topology.NewBuilder()
		s1 := kstream.From(b, "topic", serde.String(), serde.String())
		s2 := kstream.From(b, "topic2", serde.String(), serde.String())
		s3 := kstream.From(b, "topic3", serde.String(), serde.String())
		m := kstream.Map(s1, func(k, v string) (string, string) { return v, k })
		var o1, o2 []join.Option
		if named {
			o1, o2 = []join.Option{join.Named("first-join")}, []join.Option{join.Named("second-join")}
		}
		joinTopics(inner, m, s2, join.Within(ms(100), 0), o1...).To("out-one")
		joinTopics(inner, m, s3, join.Within(ms(100), 0), o2...).To("out-two")
		top, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		desc := top.Describe().String()
		want := []string{"(topic: KSTREAM-MAP-0000000003-repartition)"}
		if named {
			want = []string{"(topic: first-join-left-repartition)", "(topic: second-join-left-repartition)"}
		}
		for _, w := range want {
			if strings.Count(desc, w) != 1 {
				t.Errorf("named %v: want one sink %s in\n%s", named, w, desc)
			}
		}
		if got := strings.Count(desc, "-repartition)"); got != len(want) {
			t.Errorf("named %v: %d repartition sinks, want %d, in\n%s", named, got, len(want), desc)
		}
	}
}
