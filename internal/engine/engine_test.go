package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestMurmur2 checks Kafka's published vectors (UtilsTest.testMurmur2) and
// agrees with franz-go's partitioner on random keys.
func TestMurmur2(t *testing.T) {
	for in, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := Murmur2([]byte(in)); got != want {
			t.Errorf("Murmur2(%q) = %d, want %d", in, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	part := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	for i := 0; i < 1000; i++ {
		key := make([]byte, rng.IntN(40))
		for j := range key {
			key[j] = byte(rng.UintN(256))
		}
		n := 1 + rng.IntN(64)
		if got, want := KeyPartition(key, n), int32(part.Partition(&kgo.Record{Key: key}, n)); got != want {
			t.Fatalf("key %x over %d partitions: %d, franz-go says %d", key, n, got, want)
		}
	}
}

// TestNextPunctuation mirrors Kafka Streams' PunctuationSchedule.next: the
// next slot on the grid after now, skipping missed slots.
func TestNextPunctuation(t *testing.T) {
	for _, c := range []struct{ scheduled, interval, now, want int64 }{
		{0, 10, 0, 10},
		{0, 10, 3, 10},
		{10, 10, 10, 20},
		{10, 10, 35, 40}, // slots 20 and 30 were missed: not fired in a burst
		{0, 10, 100, 110},
		{5, 10, 5, 15},
	} {
		if got := nextPunctuation(c.scheduled, c.interval, c.now); got != c.want {
			t.Errorf("next(%d, %d, %d) = %d, want %d", c.scheduled, c.interval, c.now, got, c.want)
		}
	}
}

// node adds a definition to g for tests.
func node(t *testing.T, g *Graph, n *NodeDef) {
	t.Helper()
	n.New = func() Node { return nil }
	if err := g.Add(n); err != nil {
		t.Fatal(err)
	}
}

// TestInternalTopicPlan checks names, partition counts and purposes of
// internal topics through two chained repartitions and a store.
func TestInternalTopicPlan(t *testing.T) {
	g := &Graph{}
	if err := g.AddStore(&StoreDef{Name: "counts", Logged: true, ChangelogConfigs: map[string]string{"cleanup.policy": "compact"}, New: func() Store { return nil }}); err != nil {
		t.Fatal(err)
	}
	node(t, g, &NodeDef{Name: "src", Kind: KindSource, Topics: []string{"in"}})
	node(t, g, &NodeDef{Name: "sink1", Kind: KindSink, Parents: []string{"src"}, Topics: []string{"a-repartition"}, Internal: true})
	node(t, g, &NodeDef{Name: "src2", Kind: KindSource, Topics: []string{"a-repartition"}, Internal: true})
	node(t, g, &NodeDef{Name: "sink2", Kind: KindSink, Parents: []string{"src2"}, Topics: []string{"b-repartition"}, Internal: true, Partitions: 7})
	node(t, g, &NodeDef{Name: "src3", Kind: KindSource, Topics: []string{"b-repartition"}, Internal: true})
	node(t, g, &NodeDef{Name: "agg", Kind: KindProcessor, Parents: []string{"src3"}, Stores: []string{"counts"}})
	top, errs := Freeze(g)
	if errs != nil {
		t.Fatal(errs)
	}
	r := top.Resolve("app")
	if got := fmt.Sprint(r.Subtopologies[1].SourceTopics); got != "[app-a-repartition]" {
		t.Fatalf("resolved sources of sub-topology 1: %s", got)
	}
	if _, ok := r.TopicSubtopology["app-b-repartition"]; !ok {
		t.Fatalf("resolved topology does not read app-b-repartition: %v", r.TopicSubtopology)
	}
	if got := fmt.Sprint(top.Subtopologies[1].SourceTopics); got != "[a-repartition]" {
		t.Fatalf("Resolve changed the original topology: %s", got)
	}
	plan, err := r.InternalTopics("app", func(topic string) (int, bool) {
		if topic == "in" {
			return 3, true
		}
		return 0, false
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range plan {
		got = append(got, fmt.Sprintf("%s:%d:%d", it.Name, it.Partitions, it.Purpose))
	}
	// a-repartition takes its writer's input count (3); b-repartition asks
	// for 7; the changelog follows its sub-topology's input (7).
	if want := "[app-a-repartition:3:0 app-b-repartition:7:0 app-counts-changelog:7:1]"; fmt.Sprint(got) != want {
		t.Fatalf("plan %v, want %s", got, want)
	}
	if _, err := r.InternalTopics("app", func(string) (int, bool) { return 0, false }); err == nil {
		t.Fatal("a missing input topic must fail the plan")
	}
}
