package engine

import (
	"strings"
	"testing"
)

// fkGraph is the shape of a foreign-key join: the left sub-topology writes
// subscriptions that the right one reads, and the right one writes responses
// that the left one reads, so that each internal topic's writer reads the
// other. copartition co-partitions each with the side that reads it.
func fkGraph(t *testing.T, copartition bool) *Topology {
	t.Helper()
	g := &Graph{}
	for _, s := range []string{"ls", "rs"} {
		if err := g.AddStore(&StoreDef{Name: s, New: func() Store { return nil }}); err != nil {
			t.Fatal(err)
		}
	}
	node(t, g, &NodeDef{Name: "lsrc", Kind: KindSource, Topics: []string{"left"}})
	node(t, g, &NodeDef{Name: "send", Kind: KindProcessor, Parents: []string{"lsrc"}, Stores: []string{"ls"}})
	node(t, g, &NodeDef{Name: "subsink", Kind: KindSink, Parents: []string{"send"}, Topics: []string{"sub"}, Internal: true})
	node(t, g, &NodeDef{Name: "subsrc", Kind: KindSource, Topics: []string{"sub"}, Internal: true})
	node(t, g, &NodeDef{Name: "receive", Kind: KindProcessor, Parents: []string{"subsrc"}, Stores: []string{"rs"}})
	node(t, g, &NodeDef{Name: "rsrc", Kind: KindSource, Topics: []string{"right"}})
	node(t, g, &NodeDef{Name: "foreign", Kind: KindProcessor, Parents: []string{"rsrc"}, Stores: []string{"rs"}})
	node(t, g, &NodeDef{Name: "respsink", Kind: KindSink, Parents: []string{"receive", "foreign"}, Topics: []string{"resp"}, Internal: true})
	node(t, g, &NodeDef{Name: "respsrc", Kind: KindSource, Topics: []string{"resp"}, Internal: true})
	node(t, g, &NodeDef{Name: "resolve", Kind: KindProcessor, Parents: []string{"respsrc"}, Stores: []string{"ls"}})
	if copartition {
		g.Copartitions = append(g.Copartitions, []string{"receive", "foreign"}, []string{"resolve", "send"})
	}
	top, errs := Freeze(g)
	if errs != nil {
		t.Fatal(errs)
	}
	return top.Resolve("app")
}

// Internal topics that feed each other take the counts co-partitioning
// gives them: the subscriptions the right side's, the responses the left's.
func TestInternalTopicsCycleFixedByCopartitioning(t *testing.T) {
	plan, err := fkGraph(t, true).InternalTopics("app", counts(map[string]int{"left": 6, "right": 2}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := planString(plan), "app-resp:6 app-sub:2"; got != want {
		t.Fatalf("plan %s, want %s", got, want)
	}
}

func TestInternalTopicsCycleWithoutCopartitioning(t *testing.T) {
	_, err := fkGraph(t, false).InternalTopics("app", counts(map[string]int{"left": 6, "right": 2}))
	if err == nil || !strings.Contains(err.Error(), "depends on itself") {
		t.Fatalf("err = %v, want a cycle reported", err)
	}
}
