package ktable_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// The tests of this file replay Kafka Streams' RepartitionTopicNamingTest:
// how many repartition topics a topology gets, and their names.

var repartitionSink = regexp.MustCompile(`Sink: \S+ \(topic: (\S+-repartition)\)`)

// repartitionTopics lists the repartition topics top writes.
func repartitionTopics(top *topology.Topology) []string {
	var topics []string
	for _, m := range repartitionSink.FindAllStringSubmatch(top.Describe().String(), -1) {
		topics = append(topics, m[1])
	}
	return topics
}

// rekeyedGrouping reads topic, re-keys it (identically) and groups it.
func rekeyedGrouping(b *topology.Builder, topic string, opts ...ktable.Option) *ktable.GroupedStream[string, string] {
	s := kstream.From(b, topic, serde.String(), serde.String())
	return ktable.GroupByKey(kstream.SelectKey(s, func(k, _ string) string { return k }), opts...)
}

func TestRepartitionTopicNaming(t *testing.T) {
	w10, w30 := window.Tumbling(10*wms, 0), window.Tumbling(30*wms, 0)
	for _, tc := range []struct {
		name  string
		build func(b *topology.Builder)
		want  []string
	}{
		{"shouldNotFailWithSameRepartitionTopicNameUsingSameKGroupedStream", func(b *topology.Builder) {
			g := rekeyedGrouping(b, "topic", ktable.Named("grouping"))
			ktable.WindowedBy(g, w10).Count().ToStream().To("output-one")
			ktable.WindowedBy(g, w30).Count().ToStream().To("output-two")
		}, []string{"grouping-repartition"}},
		{"shouldNotFailWithSameRepartitionTopicNameUsingSameTimeWindowStream", func(b *topology.Builder) {
			g := rekeyedGrouping(b, "topic", ktable.Named("grouping"))
			tw := ktable.WindowedBy(g, w10)
			tw.Count().ToStream().To("output-one")
			tw.Reduce(func(a, v string) string { return a + v }).ToStream().To("output-two")
			ktable.WindowedBy(g, w30).Count().ToStream().To("output-two")
		}, []string{"grouping-repartition"}},
		{"shouldNotFailWithSameRepartitionTopicNameUsingSameSessionWindowStream", func(b *topology.Builder) {
			g := rekeyedGrouping(b, "topic", ktable.Named("grouping"))
			sw := ktable.SessionWindowedBy(g, window.Session(10*wms, 0))
			sw.Count().ToStream().To("output-one")
			sw.Reduce(func(a, v string) string { return a + v }).ToStream().To("output-two")
			ktable.WindowedBy(g, w30).Count().ToStream().To("output-two")
		}, []string{"grouping-repartition"}},
		{"shouldNotReuseRepartitionNodeWithUnnamedRepartitionTopics", func(b *topology.Builder) {
			g := rekeyedGrouping(b, "topic")
			ktable.WindowedBy(g, w10).Count().ToStream().To("output-one")
			ktable.WindowedBy(g, w30).Count().ToStream().To("output-two")
		}, []string{"KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition", "KSTREAM-AGGREGATE-STATE-STORE-0000000006-repartition"}},
	} {
		t.Run("RepartitionTopicNamingTest."+tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			tc.build(b)
			if got := repartitionTopics(mustBuild(t, b)); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("repartition topics %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("RepartitionTopicNamingTest.shouldFailWithSameRepartitionTopicName", func(t *testing.T) {
		b := topology.NewBuilder()
		ktable.GroupByKey(kstream.SelectKey(kstream.From(b, "topic", serde.String(), serde.String()), func(k, _ string) string { return k }),
			ktable.Named("grouping")).Count().ToStream()
		ktable.GroupByKey(kstream.SelectKey(kstream.From(b, "topicII", serde.String(), serde.String()), func(k, _ string) string { return k }),
			ktable.Named("grouping")).Count().ToStream()
		if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "grouping-repartition") {
			t.Fatalf("Build error %v, want one naming grouping-repartition twice", err)
		}
	})
}
