package topology

import (
	"slices"
	"strconv"
	"strings"

	"github.com/strata-go/strata/internal/engine"
)

// GlobalStoreDescription describes the update path of a global store (see
// AddGlobalStore): its source and the processor writing the store. It makes
// no tasks.
type GlobalStoreDescription struct {
	// ID follows the sub-topologies' IDs. Kafka Streams numbers a global
	// store among the sub-topologies, in the order of its first node;
	// Strata numbers global stores after them, so that sub-topology
	// numbers, and task IDs, are dense.
	ID        int
	Source    NodeDescription
	Processor NodeDescription
}

// describeGlobal describes the global store group st, numbered id.
func describeGlobal(st *engine.Subtopology, id int) GlobalStoreDescription {
	gd := GlobalStoreDescription{ID: id}
	for _, n := range st.Nodes {
		nd := NodeDescription{Name: n.Name, Kind: nodeKindOf(n.Kind), Predecessors: slices.Clone(n.Parents), Successors: slices.Clone(n.Children)}
		if n.Kind == engine.KindSource {
			nd.Topics = slices.Clone(n.Topics)
			gd.Source = nd
		} else {
			nd.Stores = slices.Clone(n.Stores)
			gd.Processor = nd
		}
	}
	return gd
}

// String prints the global store as Kafka Streams does: a "Sub-topology: N
// for global store (will not generate tasks)" line, then its source and its
// processor.
func (g GlobalStoreDescription) String() string {
	var sb strings.Builder
	g.writeText(&sb)
	return sb.String()
}

func (g *GlobalStoreDescription) writeText(sb *strings.Builder) {
	sb.WriteString("Sub-topology: ")
	sb.WriteString(strconv.Itoa(g.ID))
	sb.WriteString(" for global store (will not generate tasks)\n    ")
	g.Source.writeText(sb)
	sb.WriteString("\n    ")
	g.Processor.writeText(sb)
	sb.WriteString("\n")
}
