package topology_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// globalStore declares the store "g" and its update path from topics.
func globalStore(b *topology.Builder, logged bool, topics ...string) {
	state.AddKeyValueStore(b, "g", serde.String(), serde.String(), state.Logging(logged))
	topology.AddGlobalStore(b, "g", "g-source",
		topology.Source[string, string]{Topics: topics, KeySerde: serde.String(), ValueSerde: serde.String()},
		"g-update", passSupplier)
}

// TestGlobalStoreBuildErrors lists the misuses of global stores that Build
// reports, as Kafka Streams' addGlobalStore and connectProcessorAndStateStores
// refuse them.
func TestGlobalStoreBuildErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *topology.Builder)
		want  []string
	}{
		{"logged global store", func(b *topology.Builder) {
			globalStore(b, true, "g-topic")
		}, []string{`global store "g" must not write a changelog`}},
		{"two topics", func(b *topology.Builder) {
			globalStore(b, false, "g1", "g2")
		}, []string{`global store "g": source "g-source" must read exactly one topic`}},
		{"processor connected to a global store", func(b *topology.Builder) {
			globalStore(b, false, "g-topic")
			source(b, "src", "in")
			topology.AddProcessor(b, "p", passSupplier, "src")
			b.ConnectStores("p", "g")
		}, []string{`processor "p" is connected to global store "g"`}},
		{"child of a global store processor", func(b *topology.Builder) {
			globalStore(b, false, "g-topic")
			sink(b, "out", "out", "g-update")
		}, []string{`sink "out" has parent "g-update", which updates a global store`}},
		{"global topic also read as a stream", func(b *topology.Builder) {
			globalStore(b, false, "g-topic")
			source(b, "src", "g-topic")
			sink(b, "out", "out", "src")
		}, []string{`topic "g-topic" is read by both source "g-source" and source "src"`}},
		{"unknown global store", func(b *topology.Builder) {
			topology.AddGlobalStore(b, "nope", "g-source",
				topology.Source[string, string]{Topics: []string{"g-topic"}, KeySerde: serde.String(), ValueSerde: serde.String()},
				"g-update", passSupplier)
		}, []string{`processor "g-update" uses unknown store "nope"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := topology.NewBuilder()
			c.build(b)
			_, err := b.Build()
			if !errors.Is(err, topology.ErrInvalidTopology) {
				t.Fatalf("Build: %v, want ErrInvalidTopology", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// A global store's update path is no sub-topology: it makes no tasks and
// its topic is not among the topics the consumer group reads.
func TestGlobalStoreIsNoSubtopology(t *testing.T) {
	b := topology.NewBuilder()
	globalStore(b, false, "g-topic")
	source(b, "src", "in")
	sink(b, "out", "out", "src")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if got := top.SourceTopics(); len(got) != 1 || got[0] != "in" {
		t.Errorf("SourceTopics() = %q, want [in]", got)
	}
	d := top.Describe()
	if len(d.Subtopologies) != 1 || d.Subtopologies[0].ID != 0 {
		t.Fatalf("sub-topologies %+v, want the stream's alone, numbered 0", d.Subtopologies)
	}
}
