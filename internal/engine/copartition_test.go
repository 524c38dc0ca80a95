package engine

import (
	"fmt"
	"strings"
	"testing"
)

// joinGraph is two inputs meeting in one processor, as in a join: "left"
// reads topic left directly, "right" reads topic right, or a repartition of
// it when repartition is set (with the sink asking for sinkPartitions).
func joinGraph(t *testing.T, repartition bool, sinkPartitions int) *Topology {
	t.Helper()
	g := &Graph{}
	if err := g.AddStore(&StoreDef{Name: "s", Logged: true, New: func() Store { return nil }}); err != nil {
		t.Fatal(err)
	}
	node(t, g, &NodeDef{Name: "lsrc", Kind: KindSource, Topics: []string{"left"}})
	node(t, g, &NodeDef{Name: "rsrc", Kind: KindSource, Topics: []string{"right"}})
	rightParent := "rsrc"
	if repartition {
		node(t, g, &NodeDef{Name: "rsink", Kind: KindSink, Parents: []string{"rsrc"}, Topics: []string{"r-repartition"}, Internal: true, Partitions: sinkPartitions})
		node(t, g, &NodeDef{Name: "rrsrc", Kind: KindSource, Topics: []string{"r-repartition"}, Internal: true})
		rightParent = "rrsrc"
	}
	node(t, g, &NodeDef{Name: "lmap", Kind: KindProcessor, Parents: []string{"lsrc"}})
	node(t, g, &NodeDef{Name: "join", Kind: KindProcessor, Parents: []string{"lmap", rightParent}, Stores: []string{"s"}})
	g.Copartitions = append(g.Copartitions, []string{"lmap", rightParent})
	top, errs := Freeze(g)
	if errs != nil {
		t.Fatal(errs)
	}
	return top.Resolve("app")
}

func counts(m map[string]int) func(string) (int, bool) {
	return func(topic string) (int, bool) { n, ok := m[topic]; return n, ok }
}

func planString(plan []InternalTopic) string {
	var out []string
	for _, it := range plan {
		out = append(out, fmt.Sprintf("%s:%d", it.Name, it.Partitions))
	}
	return strings.Join(out, " ")
}

func TestCopartitionGroups(t *testing.T) {
	top := joinGraph(t, true, 0)
	groups := top.CopartitionGroups()
	if len(groups) != 1 || fmt.Sprint(groups[0].Topics) != "[app-r-repartition left]" || fmt.Sprint(groups[0].Nodes) != "[lmap rrsrc]" {
		t.Fatalf("groups %+v", groups)
	}
}

func TestCopartitionExternalTopicsMustMatch(t *testing.T) {
	top := joinGraph(t, false, 0)
	if _, err := top.InternalTopics("app", counts(map[string]int{"left": 4, "right": 4})); err != nil {
		t.Fatalf("equal counts: %v", err)
	}
	_, err := top.InternalTopics("app", counts(map[string]int{"left": 4, "right": 3}))
	if err == nil {
		t.Fatal("topics with 4 and 3 partitions read co-partitioned must fail the plan")
	}
	for _, want := range []string{`"left" (4 partitions)`, `"right" (3 partitions)`, "co-partitioned"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// A repartition topic co-partitioned with an external topic takes that
// topic's count, not its writer's, and so does the changelog of the task.
func TestCopartitionRepartitionTakesGroupCount(t *testing.T) {
	top := joinGraph(t, true, 0)
	plan, err := top.InternalTopics("app", counts(map[string]int{"left": 6, "right": 2}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := planString(plan), "app-r-repartition:6 app-s-changelog:6"; got != want {
		t.Fatalf("plan %s, want %s", got, want)
	}
}

func TestCopartitionRepartitionAskingOtherCount(t *testing.T) {
	top := joinGraph(t, true, 3)
	_, err := top.InternalTopics("app", counts(map[string]int{"left": 6, "right": 2}))
	if err == nil || !strings.Contains(err.Error(), `"app-r-repartition" asks for 3 partitions`) {
		t.Fatalf("err = %v, want one naming the repartition topic's count", err)
	}
	if _, err := joinGraph(t, true, 6).InternalTopics("app", counts(map[string]int{"left": 6, "right": 2})); err != nil {
		t.Fatalf("a sink asking for the group's count: %v", err)
	}
}

func TestCopartitionGroupErrors(t *testing.T) {
	g := &Graph{}
	node(t, g, &NodeDef{Name: "a", Kind: KindSource, Topics: []string{"a"}})
	node(t, g, &NodeDef{Name: "b", Kind: KindSource, Topics: []string{"b"}})
	g.Copartitions = [][]string{{"a"}, {"a", "nope"}, {"a", "b"}}
	_, errs := Freeze(g)
	got := fmt.Sprint(errs)
	for _, want := range []string{"needs at least two nodes", `unknown node "nope"`} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %s do not say %q", got, want)
		}
	}
	g.Copartitions = [][]string{{"a", "b"}}
	if _, errs := Freeze(g); errs == nil || !strings.Contains(fmt.Sprint(errs), "are not connected") {
		t.Errorf("nodes of different sub-topologies: errors %v", errs)
	}
}
