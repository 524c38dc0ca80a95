package topology_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

type pass struct {
	ctx topology.Context[string, string]
}

func (p *pass) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *pass) Process(r topology.Record[string, string]) error { return p.ctx.Forward(r) }
func (p *pass) Close() error                                    { return nil }

func passSupplier() topology.Processor[string, string, string, string] { return &pass{} }

func source(b *topology.Builder, name string, topics ...string) {
	topology.AddSource(b, name, topology.Source[string, string]{Topics: topics, KeySerde: serde.String(), ValueSerde: serde.String()})
}

func sink(b *topology.Builder, name, topic string, parents ...string) {
	topology.AddSink(b, name, topology.Sink[string, string]{Topic: topic, KeySerde: serde.String(), ValueSerde: serde.String()}, parents...)
}

// TestBuildErrors lists the mistakes Build reports, each by the message
// that names it.
func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *topology.Builder)
		want  []string
	}{
		{"empty topology", func(b *topology.Builder) {}, []string{"the topology has no nodes"}},
		{"duplicate name", func(b *topology.Builder) {
			source(b, "x", "in")
			topology.AddProcessor(b, "x", passSupplier, "x")
		}, []string{`node name "x" is used more than once`}},
		{"empty name", func(b *topology.Builder) { source(b, "", "in") }, []string{"a source has an empty name"}},
		{"missing serdes", func(b *topology.Builder) {
			topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}})
			topology.AddSink(b, "sink", topology.Sink[string, string]{Topic: "out"}, "src")
		}, []string{`source "src" has no key serde`, `source "src" has no value serde`, `sink "sink" has no key serde`, `sink "sink" has no value serde`}},
		{"sink without topic", func(b *topology.Builder) {
			source(b, "src", "in")
			sink(b, "sink", "", "src")
		}, []string{`sink "sink" has no topic`}},
		{"sink with topic and extractor", func(b *topology.Builder) {
			source(b, "src", "in")
			topology.AddSink(b, "sink", topology.Sink[string, string]{Topic: "out", KeySerde: serde.String(), ValueSerde: serde.String(),
				TopicExtractor: func(topology.Record[string, string]) (string, error) { return "x", nil }}, "src")
		}, []string{`sink "sink" has both a topic and a topic extractor`}},
		{"source without topics", func(b *topology.Builder) { source(b, "src") }, []string{`source "src" reads no topic`}},
		{"topic read twice", func(b *topology.Builder) {
			source(b, "a", "in")
			source(b, "b", "in")
		}, []string{`topic "in" is read by both source "a" and source "b"`}},
		{"topic listed twice by one source", func(b *topology.Builder) { source(b, "a", "in", "in") }, []string{`source "a" lists topic "in" twice`}},
		{"unknown parent", func(b *topology.Builder) {
			source(b, "src", "in")
			topology.AddProcessor(b, "p", passSupplier, "nope")
		}, []string{`processor "p" has unknown parent "nope"`}},
		{"no parent", func(b *topology.Builder) {
			source(b, "src", "in")
			topology.AddProcessor(b, "p", passSupplier)
		}, []string{`processor "p" has no parent`}},
		{"sink as parent", func(b *topology.Builder) {
			source(b, "src", "in")
			sink(b, "sink", "out", "src")
			topology.AddProcessor(b, "p", passSupplier, "sink")
		}, []string{`processor "p" has parent "sink", which is a sink and cannot forward`}},
		{"cycle", func(b *topology.Builder) {
			// Parents may be named before they are added, so a
			// cycle can be written; Build finds it.
			source(b, "src", "in")
			topology.AddProcessor(b, "a", passSupplier, "src", "c")
			topology.AddProcessor(b, "b", passSupplier, "a")
			topology.AddProcessor(b, "c", passSupplier, "b")
		}, []string{"the topology has a cycle: a -> b -> c -> a"}},
		{"unknown store", func(b *topology.Builder) {
			source(b, "src", "in")
			topology.AddProcessor(b, "p", passSupplier, "src")
			b.ConnectStores("p", "nope")
		}, []string{`processor "p" uses unknown store "nope"`}},
		{"stores on a source", func(b *topology.Builder) {
			source(b, "src", "in")
			b.ConnectStores("src", "s")
		}, []string{`cannot connect stores to source "src": only processors use stores`}},
		{"nil supplier", func(b *topology.Builder) {
			source(b, "src", "in")
			topology.AddProcessor[string, string, string, string](b, "p", nil, "src")
			sink(b, "sink", "out", "p")
		}, []string{`processor "p" has no supplier`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := topology.NewBuilder()
			c.build(b)
			top, err := b.Build()
			if top != nil || !errors.Is(err, topology.ErrInvalidTopology) {
				t.Fatalf("Build = %v, %v; want ErrInvalidTopology", top, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.name == "nil supplier" && strings.Contains(err.Error(), "unknown parent") {
				t.Errorf("a nil supplier must not make its children report a missing parent: %v", err)
			}
		})
	}
}

func TestBuilderBuildsOnce(t *testing.T) {
	b := topology.NewBuilder()
	source(b, "src", "in")
	topology.AddProcessor(b, "p", passSupplier, "src")
	sink(b, "sink", "out", "p")
	if _, err := b.Build(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "Build called twice") {
		t.Fatalf("second Build = %v", err)
	}
	b.ConnectStores("p", "s")
	topology.AddProcessor(b, "late", passSupplier, "p")
	// The refusals are recorded; the built topology is untouched.
	if _, err := b.Build(); err == nil {
		t.Fatal("Build after changes succeeded")
	}
}

func TestSourceTopics(t *testing.T) {
	b := topology.NewBuilder()
	source(b, "a", "z-topic", "m-topic")
	source(b, "b", "a-topic")
	sink(b, "sink", "out", "a", "b")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(top.SourceTopics(), ","); got != "a-topic,m-topic,z-topic" {
		t.Fatalf("SourceTopics = %s", got)
	}
}
