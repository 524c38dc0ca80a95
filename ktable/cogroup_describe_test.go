package ktable_test

import (
	"strings"
	"testing"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// cogroupDescribeCases are CogroupedKStreamImplTest's topology tests and
// the windowed cogroups' namedParamShouldSetName. The topologies have
// Kafka's shape: the same nodes, edges, stores, topics and sub-topologies.
// Two things differ, on purpose. Kafka Streams burns three counter values
// for each repartition topic it adds (its filter, sink and source are
// numbered, then renamed after the topic); Strata draws none, so the
// numbers after a repartition are three lower per topic. And Kafka names
// the processors after Named and the store after Materialized, where
// Strata's one Named names both: Kafka's Named("test") with
// Materialized.as("store") is Strata's Named("test"), store "test".
var cogroupDescribeCases = []struct {
	name  string
	build func(b *topology.Builder)
	want  string
}{
	{"CogroupedKStreamImplTest.shouldNameProcessorsAndStoreBasedOnNamedParameter", func(b *topology.Builder) {
		one, two := twoGrouped(b, false)
		ktable.CogroupWith(ktable.Cogroup(one, stringAggregator), two, stringAggregator).
			Aggregate(emptyInit, ktable.Named("test")).ToStream().To("output")
	}, `
Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [one])
	  --> test-cogroup-agg-0
	Source: KSTREAM-SOURCE-0000000001 (topics: [two])
	  --> test-cogroup-agg-1
	Processor: test-cogroup-agg-0 (stores: [test])
	  --> test-cogroup-merge
	  <-- KSTREAM-SOURCE-0000000000
	Processor: test-cogroup-agg-1 (stores: [test])
	  --> test-cogroup-merge
	  <-- KSTREAM-SOURCE-0000000001
	Processor: test-cogroup-merge (stores: [])
	  --> KTABLE-TOSTREAM-0000000002
	  <-- test-cogroup-agg-0, test-cogroup-agg-1
	Processor: KTABLE-TOSTREAM-0000000002 (stores: [])
	  --> KSTREAM-SINK-0000000003
	  <-- test-cogroup-merge
	Sink: KSTREAM-SINK-0000000003 (topic: output)
	  <-- KTABLE-TOSTREAM-0000000002
`},
	{"CogroupedKStreamImplTest.shouldNameRepartitionTopic", func(b *topology.Builder) {
		s1 := kstream.From(b, "one", serde.String(), serde.String())
		s2 := kstream.From(b, "two", serde.String(), serde.String())
		one := ktable.GroupByKey(kstream.Map(s1, swapKV), ktable.Named("repartition-test"))
		ktable.CogroupWith(ktable.Cogroup(one, stringAggregator), ktable.GroupByKey(s2), stringAggregator).
			Aggregate(emptyInit).ToStream().To("output")
	}, `
Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [one])
	  --> KSTREAM-MAP-0000000002
	Processor: KSTREAM-MAP-0000000002 (stores: [])
	  --> repartition-test-repartition-filter
	  <-- KSTREAM-SOURCE-0000000000
	Processor: repartition-test-repartition-filter (stores: [])
	  --> repartition-test-repartition-sink
	  <-- KSTREAM-MAP-0000000002
	Sink: repartition-test-repartition-sink (topic: repartition-test-repartition)
	  <-- repartition-test-repartition-filter
   Sub-topology: 1
	Source: KSTREAM-SOURCE-0000000001 (topics: [two])
	  --> COGROUPKSTREAM-AGGREGATE-0000000005
	Source: repartition-test-repartition-source (topics: [repartition-test-repartition])
	  --> COGROUPKSTREAM-AGGREGATE-0000000004
	Processor: COGROUPKSTREAM-AGGREGATE-0000000004 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003])
	  --> COGROUPKSTREAM-MERGE-0000000006
	  <-- repartition-test-repartition-source
	Processor: COGROUPKSTREAM-AGGREGATE-0000000005 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003])
	  --> COGROUPKSTREAM-MERGE-0000000006
	  <-- KSTREAM-SOURCE-0000000001
	Processor: COGROUPKSTREAM-MERGE-0000000006 (stores: [])
	  --> KTABLE-TOSTREAM-0000000007
	  <-- COGROUPKSTREAM-AGGREGATE-0000000004, COGROUPKSTREAM-AGGREGATE-0000000005
	Processor: KTABLE-TOSTREAM-0000000007 (stores: [])
	  --> KSTREAM-SINK-0000000008
	  <-- COGROUPKSTREAM-MERGE-0000000006
	Sink: KSTREAM-SINK-0000000008 (topic: output)
	  <-- KTABLE-TOSTREAM-0000000007
`},
	{"CogroupedKStreamImplTest.shouldInsertRepartitionsTopicForUpstreamKeyModification", func(b *topology.Builder) {
		one, two := twoGrouped(b, true)
		ktable.CogroupWith(ktable.Cogroup(one, stringAggregator), two, stringAggregator).
			Aggregate(emptyInit, ktable.Named("test")).ToStream().To("output")
	}, `
Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [one])
	  --> KSTREAM-MAP-0000000002
	Processor: KSTREAM-MAP-0000000002 (stores: [])
	  --> test-repartition-filter
	  <-- KSTREAM-SOURCE-0000000000
	Processor: test-repartition-filter (stores: [])
	  --> test-repartition-sink
	  <-- KSTREAM-MAP-0000000002
	Sink: test-repartition-sink (topic: test-repartition)
	  <-- test-repartition-filter
   Sub-topology: 1
	Source: KSTREAM-SOURCE-0000000001 (topics: [two])
	  --> test-cogroup-agg-1
	Source: test-repartition-source (topics: [test-repartition])
	  --> test-cogroup-agg-0
	Processor: test-cogroup-agg-0 (stores: [test])
	  --> test-cogroup-merge
	  <-- test-repartition-source
	Processor: test-cogroup-agg-1 (stores: [test])
	  --> test-cogroup-merge
	  <-- KSTREAM-SOURCE-0000000001
	Processor: test-cogroup-merge (stores: [])
	  --> KTABLE-TOSTREAM-0000000003
	  <-- test-cogroup-agg-0, test-cogroup-agg-1
	Processor: KTABLE-TOSTREAM-0000000003 (stores: [])
	  --> KSTREAM-SINK-0000000004
	  <-- test-cogroup-merge
	Sink: KSTREAM-SINK-0000000004 (topic: output)
	  <-- KTABLE-TOSTREAM-0000000003
`},
	{"CogroupedKStreamImplTest.shouldInsertRepartitionsTopicForUpstreamKeyModificationWithGroupedReusedInSameCogroups", func(b *topology.Builder) {
		one, two := twoGrouped(b, true)
		cogroupedTwo := ktable.CogroupWith(ktable.Cogroup(one, stringAggregator), two, stringAggregator).Aggregate(emptyInit)
		cogroupedOne := ktable.CogroupWith(ktable.Cogroup(one, stringAggregator), two, stringAggregator).Aggregate(emptyInit)
		cogroupedOne.ToStream().To("output")
		cogroupedTwo.ToStream().To("OUTPUT2")
	}, `
Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [one])
	  --> KSTREAM-MAP-0000000002
	Processor: KSTREAM-MAP-0000000002 (stores: [])
	  --> COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-filter, COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-filter
	  <-- KSTREAM-SOURCE-0000000000
	Processor: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-filter (stores: [])
	  --> COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-sink
	  <-- KSTREAM-MAP-0000000002
	Processor: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-filter (stores: [])
	  --> COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-sink
	  <-- KSTREAM-MAP-0000000002
	Sink: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-sink (topic: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition)
	  <-- COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-filter
	Sink: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-sink (topic: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition)
	  <-- COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-filter
   Sub-topology: 1
	Source: KSTREAM-SOURCE-0000000001 (topics: [two])
	  --> COGROUPKSTREAM-AGGREGATE-0000000005, COGROUPKSTREAM-AGGREGATE-0000000009
	Source: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-source (topics: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition])
	  --> COGROUPKSTREAM-AGGREGATE-0000000004
	Source: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-source (topics: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition])
	  --> COGROUPKSTREAM-AGGREGATE-0000000008
	Processor: COGROUPKSTREAM-AGGREGATE-0000000004 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003])
	  --> COGROUPKSTREAM-MERGE-0000000006
	  <-- COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-source
	Processor: COGROUPKSTREAM-AGGREGATE-0000000005 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003])
	  --> COGROUPKSTREAM-MERGE-0000000006
	  <-- KSTREAM-SOURCE-0000000001
	Processor: COGROUPKSTREAM-AGGREGATE-0000000008 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007])
	  --> COGROUPKSTREAM-MERGE-0000000010
	  <-- COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-source
	Processor: COGROUPKSTREAM-AGGREGATE-0000000009 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000007])
	  --> COGROUPKSTREAM-MERGE-0000000010
	  <-- KSTREAM-SOURCE-0000000001
	Processor: COGROUPKSTREAM-MERGE-0000000006 (stores: [])
	  --> KTABLE-TOSTREAM-0000000013
	  <-- COGROUPKSTREAM-AGGREGATE-0000000004, COGROUPKSTREAM-AGGREGATE-0000000005
	Processor: COGROUPKSTREAM-MERGE-0000000010 (stores: [])
	  --> KTABLE-TOSTREAM-0000000011
	  <-- COGROUPKSTREAM-AGGREGATE-0000000008, COGROUPKSTREAM-AGGREGATE-0000000009
	Processor: KTABLE-TOSTREAM-0000000011 (stores: [])
	  --> KSTREAM-SINK-0000000012
	  <-- COGROUPKSTREAM-MERGE-0000000010
	Processor: KTABLE-TOSTREAM-0000000013 (stores: [])
	  --> KSTREAM-SINK-0000000014
	  <-- COGROUPKSTREAM-MERGE-0000000006
	Sink: KSTREAM-SINK-0000000012 (topic: output)
	  <-- KTABLE-TOSTREAM-0000000011
	Sink: KSTREAM-SINK-0000000014 (topic: OUTPUT2)
	  <-- KTABLE-TOSTREAM-0000000013
`},
	{"CogroupedKStreamImplTest.shouldInsertRepartitionsTopicForUpstreamKeyModificationWithGroupedReusedInDifferentCogroups", func(b *topology.Builder) {
		s1 := kstream.From(b, "one", serde.String(), serde.String())
		s2 := kstream.From(b, "two", serde.String(), serde.String())
		s3 := kstream.From(b, "three", serde.String(), serde.String())
		one := ktable.GroupByKey(kstream.Map(s1, swapKV))
		two, three := ktable.GroupByKey(s2), ktable.GroupByKey(s3)
		ktable.CogroupWith(ktable.Cogroup(one, stringAggregator), three, stringAggregator).Aggregate(emptyInit)
		ktable.CogroupWith(ktable.Cogroup(one, stringAggregator), two, stringAggregator).Aggregate(emptyInit)
	}, `
Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [one])
	  --> KSTREAM-MAP-0000000003
	Processor: KSTREAM-MAP-0000000003 (stores: [])
	  --> COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition-filter, COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008-repartition-filter
	  <-- KSTREAM-SOURCE-0000000000
	Processor: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition-filter (stores: [])
	  --> COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition-sink
	  <-- KSTREAM-MAP-0000000003
	Processor: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008-repartition-filter (stores: [])
	  --> COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008-repartition-sink
	  <-- KSTREAM-MAP-0000000003
	Sink: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition-sink (topic: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition)
	  <-- COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition-filter
	Sink: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008-repartition-sink (topic: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008-repartition)
	  <-- COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008-repartition-filter
   Sub-topology: 1
	Source: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008-repartition-source (topics: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008-repartition])
	  --> COGROUPKSTREAM-AGGREGATE-0000000009
	Source: KSTREAM-SOURCE-0000000001 (topics: [two])
	  --> COGROUPKSTREAM-AGGREGATE-0000000010
	Processor: COGROUPKSTREAM-AGGREGATE-0000000009 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008])
	  --> COGROUPKSTREAM-MERGE-0000000011
	  <-- COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008-repartition-source
	Processor: COGROUPKSTREAM-AGGREGATE-0000000010 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000008])
	  --> COGROUPKSTREAM-MERGE-0000000011
	  <-- KSTREAM-SOURCE-0000000001
	Processor: COGROUPKSTREAM-MERGE-0000000011 (stores: [])
	  --> none
	  <-- COGROUPKSTREAM-AGGREGATE-0000000009, COGROUPKSTREAM-AGGREGATE-0000000010
   Sub-topology: 2
	Source: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition-source (topics: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition])
	  --> COGROUPKSTREAM-AGGREGATE-0000000005
	Source: KSTREAM-SOURCE-0000000002 (topics: [three])
	  --> COGROUPKSTREAM-AGGREGATE-0000000006
	Processor: COGROUPKSTREAM-AGGREGATE-0000000005 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004])
	  --> COGROUPKSTREAM-MERGE-0000000007
	  <-- COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition-source
	Processor: COGROUPKSTREAM-AGGREGATE-0000000006 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000004])
	  --> COGROUPKSTREAM-MERGE-0000000007
	  <-- KSTREAM-SOURCE-0000000002
	Processor: COGROUPKSTREAM-MERGE-0000000007 (stores: [])
	  --> none
	  <-- COGROUPKSTREAM-AGGREGATE-0000000005, COGROUPKSTREAM-AGGREGATE-0000000006
`},
	{"CogroupedKStreamImplTest.shouldInsertRepartitionsTopicForUpstreamKeyModificationWithGroupedReused", func(b *topology.Builder) {
		one, two := twoGrouped(b, true)
		ktable.CogroupWith(ktable.Cogroup(one, stringAggregator), two, stringAggregator).Aggregate(emptyInit)
		ktable.Aggregate(one, emptyInit, stringAggregator)
	}, `
Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [one])
	  --> KSTREAM-MAP-0000000002
	Processor: KSTREAM-MAP-0000000002 (stores: [])
	  --> COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-filter, KSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-filter
	  <-- KSTREAM-SOURCE-0000000000
	Processor: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-filter (stores: [])
	  --> COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-sink
	  <-- KSTREAM-MAP-0000000002
	Processor: KSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-filter (stores: [])
	  --> KSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-sink
	  <-- KSTREAM-MAP-0000000002
	Sink: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-sink (topic: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition)
	  <-- COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-filter
	Sink: KSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-sink (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition)
	  <-- KSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-filter
   Sub-topology: 1
	Source: COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-source (topics: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition])
	  --> COGROUPKSTREAM-AGGREGATE-0000000004
	Source: KSTREAM-SOURCE-0000000001 (topics: [two])
	  --> COGROUPKSTREAM-AGGREGATE-0000000005
	Processor: COGROUPKSTREAM-AGGREGATE-0000000004 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003])
	  --> COGROUPKSTREAM-MERGE-0000000006
	  <-- COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-source
	Processor: COGROUPKSTREAM-AGGREGATE-0000000005 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000003])
	  --> COGROUPKSTREAM-MERGE-0000000006
	  <-- KSTREAM-SOURCE-0000000001
	Processor: COGROUPKSTREAM-MERGE-0000000006 (stores: [])
	  --> none
	  <-- COGROUPKSTREAM-AGGREGATE-0000000004, COGROUPKSTREAM-AGGREGATE-0000000005
   Sub-topology: 2
	Source: KSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-source (topics: [KSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition])
	  --> KSTREAM-AGGREGATE-0000000008
	Processor: KSTREAM-AGGREGATE-0000000008 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000007])
	  --> none
	  <-- KSTREAM-AGGREGATE-STATE-STORE-0000000007-repartition-source
`},
	{"CogroupedKStreamImplTest.shouldInsertRepartitionsTopicForCogroupsUsedTwice", func(b *topology.Builder) {
		s1 := kstream.From(b, "one", serde.String(), serde.String())
		one := ktable.Cogroup(ktable.GroupByKey(kstream.Map(s1, swapKV), ktable.Named("foo")), stringAggregator)
		one.Aggregate(emptyInit)
		one.Aggregate(emptyInit)
	}, `
Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [one])
	  --> KSTREAM-MAP-0000000001
	Processor: KSTREAM-MAP-0000000001 (stores: [])
	  --> foo-repartition-filter
	  <-- KSTREAM-SOURCE-0000000000
	Processor: foo-repartition-filter (stores: [])
	  --> foo-repartition-sink
	  <-- KSTREAM-MAP-0000000001
	Sink: foo-repartition-sink (topic: foo-repartition)
	  <-- foo-repartition-filter
   Sub-topology: 1
	Source: foo-repartition-source (topics: [foo-repartition])
	  --> COGROUPKSTREAM-AGGREGATE-0000000003, COGROUPKSTREAM-AGGREGATE-0000000006
	Processor: COGROUPKSTREAM-AGGREGATE-0000000003 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000002])
	  --> COGROUPKSTREAM-MERGE-0000000004
	  <-- foo-repartition-source
	Processor: COGROUPKSTREAM-AGGREGATE-0000000006 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000005])
	  --> COGROUPKSTREAM-MERGE-0000000007
	  <-- foo-repartition-source
	Processor: COGROUPKSTREAM-MERGE-0000000004 (stores: [])
	  --> none
	  <-- COGROUPKSTREAM-AGGREGATE-0000000003
	Processor: COGROUPKSTREAM-MERGE-0000000007 (stores: [])
	  --> none
	  <-- COGROUPKSTREAM-AGGREGATE-0000000006
`},
	{"TimeWindowedCogroupedKStreamImplTest.namedParamShouldSetName", func(b *topology.Builder) {
		g := ktable.GroupByKey(kstream.From(b, "topic", serde.String(), serde.String()))
		ktable.Cogroup(g, stringAdder).WindowedBy(window.Tumbling(500*wms, 0)).Aggregate(stringInit, ktable.Named("foo"))
	}, `
Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [topic])
	  --> foo-cogroup-agg-0
	Processor: foo-cogroup-agg-0 (stores: [foo])
	  --> foo-cogroup-merge
	  <-- KSTREAM-SOURCE-0000000000
	Processor: foo-cogroup-merge (stores: [])
	  --> none
	  <-- foo-cogroup-agg-0
`},
	{"SessionWindowedCogroupedKStreamImplTest.namedParamShouldSetName", func(b *topology.Builder) {
		g := ktable.GroupByKey(kstream.From(b, "topic", serde.String(), serde.String()))
		ktable.Cogroup(g, stringAdder).SessionWindowedBy(window.Session(wms, 0)).Aggregate(stringInit, sessionMerger, ktable.Named("foo"))
	}, `
Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [topic])
	  --> foo-cogroup-agg-0
	Processor: foo-cogroup-agg-0 (stores: [foo])
	  --> foo-cogroup-merge
	  <-- KSTREAM-SOURCE-0000000000
	Processor: foo-cogroup-merge (stores: [])
	  --> none
	  <-- foo-cogroup-agg-0
`},
	{"SlidingWindowedCogroupedKStreamImplTest.namedParamShouldSetName", func(b *topology.Builder) {
		g := ktable.GroupByKey(kstream.From(b, "topic", serde.String(), serde.String()))
		ktable.Cogroup(g, stringAdder).SlidingWindowedBy(window.Sliding(500*wms, 2000*wms)).Aggregate(stringInit, ktable.Named("foo"))
	}, `
Topologies:
   Sub-topology: 0
	Source: KSTREAM-SOURCE-0000000000 (topics: [topic])
	  --> foo-cogroup-agg-0
	Processor: foo-cogroup-agg-0 (stores: [foo])
	  --> foo-cogroup-merge
	  <-- KSTREAM-SOURCE-0000000000
	Processor: foo-cogroup-merge (stores: [])
	  --> none
	  <-- foo-cogroup-agg-0
`},
}

func swapKV(k, v string) (string, string) { return v, k }

// twoGrouped reads "one", re-keyed when rekey, and "two" as grouped
// streams.
func twoGrouped(b *topology.Builder, rekey bool) (one, two *ktable.GroupedStream[string, string]) {
	s1 := kstream.From(b, "one", serde.String(), serde.String())
	s2 := kstream.From(b, "two", serde.String(), serde.String())
	if rekey {
		s1 = kstream.Map(s1, swapKV)
	}
	return ktable.GroupByKey(s1), ktable.GroupByKey(s2)
}

// trimDescribe drops Describe's indentation and blank lines (Describe's
// own tests cover its layout).
func trimDescribe(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func TestCogroupDescribe(t *testing.T) {
	for _, tc := range cogroupDescribeCases {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			tc.build(b)
			got := mustBuild(t, b).Describe().String()
			if trimDescribe(got) != trimDescribe(tc.want) {
				t.Errorf("Describe:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
