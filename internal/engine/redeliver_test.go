package engine

import (
	"strings"
	"testing"
)

// handlerGraph is the shape of an outcome handler: it reads its input and
// its own retry topic, and writes that retry topic back.
func handlerGraph(t *testing.T, blocking bool, extra func(g *Graph)) (*Topology, []error) {
	t.Helper()
	g := &Graph{}
	node(t, g, &NodeDef{Name: "src", Kind: KindSource, Topics: []string{"in"}})
	node(t, g, &NodeDef{Name: "filter", Kind: KindProcessor, Parents: []string{"src"}})
	node(t, g, &NodeDef{Name: "h-retry-source", Kind: KindSource, Topics: []string{"h-retry"}, Internal: true})
	node(t, g, &NodeDef{Name: "h", Kind: KindProcessor, Parents: []string{"filter", "h-retry-source"}, Redelivers: blocking, DeadLetters: true})
	node(t, g, &NodeDef{Name: "h-retry-sink", Kind: KindSink, Parents: []string{"h"}, Topics: []string{"h-retry"}, Internal: true})
	if extra != nil {
		extra(g)
	}
	return Freeze(g)
}

// A topic a sub-topology writes and reads back takes the count of its
// other inputs.
func TestInternalTopicReadBackTakesInputCount(t *testing.T) {
	top, errs := handlerGraph(t, false, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	top = top.Resolve("app")
	plan, err := top.InternalTopics("app", counts(map[string]int{"in": 6}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := planString(plan), "app-h-retry:6"; got != want {
		t.Fatalf("plan %s, want %s", got, want)
	}
	if !top.WritesDeadLetters() {
		t.Fatal("WritesDeadLetters false for a topology with a handler")
	}
}

func TestRedeliveringNodeThroughStatelessNodes(t *testing.T) {
	if _, errs := handlerGraph(t, true, func(g *Graph) {
		// A sibling sink: its output repeats, as at-least-once.
		node(t, g, &NodeDef{Name: "copy", Kind: KindSink, Parents: []string{"src"}, Topics: []string{"copy"}})
	}); errs != nil {
		t.Fatal(errs)
	}
}

// A store upstream of the node, or beside it below the same source, would
// see a redelivered record twice.
func TestRedeliveringNodeRefusesState(t *testing.T) {
	for name, extra := range map[string]func(g *Graph){
		"upstream": func(g *Graph) {
			g.byName["filter"].Stores = []string{"s"}
		},
		"sibling": func(g *Graph) {
			node(t, g, &NodeDef{Name: "count", Kind: KindProcessor, Parents: []string{"src"}, Stores: []string{"s"}})
		},
	} {
		_, errs := handlerGraph(t, true, func(g *Graph) {
			if err := g.AddStore(&StoreDef{Name: "s", New: func() Store { return nil }}); err != nil {
				t.Fatal(err)
			}
			extra(g)
		})
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), `"h" retries records in place`) || !strings.Contains(errs[0].Error(), `"s"`) {
			t.Errorf("%s: errors %v, want one naming the handler and the store", name, errs)
		}
		// Without redeliveries the same graph is fine.
		if _, errs := handlerGraph(t, false, func(g *Graph) {
			if err := g.AddStore(&StoreDef{Name: "s", New: func() Store { return nil }}); err != nil {
				t.Fatal(err)
			}
			extra(g)
		}); errs != nil {
			t.Errorf("%s, not blocking: %v", name, errs)
		}
	}
}
