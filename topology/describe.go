package topology

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/strata-go/strata/internal/engine"
)

// NodeKind says what a described node does.
type NodeKind int

// Node kinds. The zero NodeKind is not a valid kind.
const (
	// KindSource is a node that reads records from topics.
	KindSource NodeKind = iota + 1
	// KindProcessor is a node that runs a Processor.
	KindProcessor
	// KindSink is a node that writes records to a topic.
	KindSink
)

// String returns "Source", "Processor" or "Sink", the words Kafka Streams
// prints before a node's name.
func (k NodeKind) String() string {
	switch k {
	case KindSource:
		return "Source"
	case KindProcessor:
		return "Processor"
	case KindSink:
		return "Sink"
	}
	return "NodeKind(" + strconv.Itoa(int(k)) + ")"
}

func nodeKindOf(k engine.Kind) NodeKind {
	switch k {
	case engine.KindSource:
		return KindSource
	case engine.KindProcessor:
		return KindProcessor
	case engine.KindSink:
		return KindSink
	}
	return NodeKind(0)
}

// Description describes a topology's structure: its sub-topologies and their
// nodes, as Kafka Streams' TopologyDescription does. It is a plain value: the
// caller may read and change it freely.
type Description struct {
	// Subtopologies in ID order.
	Subtopologies []SubtopologyDescription
	// GlobalStores are the update paths of the global stores, in ID
	// order, after the sub-topologies.
	GlobalStores []GlobalStoreDescription
}

// SubtopologyDescription describes one sub-topology: a connected group of
// nodes that runs as one task per input partition.
type SubtopologyDescription struct {
	// ID is the sub-topology's number, the first part of its task IDs.
	ID int
	// Nodes in Kafka Streams' order: nodes with more nodes below them
	// first, then by name. Sources therefore come before their
	// processors, and processors before their sinks.
	Nodes []NodeDescription
}

// NodeDescription describes one node.
type NodeDescription struct {
	// Name is the node's unique name.
	Name string
	// Kind says whether the node is a source, a processor or a sink.
	Kind NodeKind
	// Topics are the topics a source reads, in the order given to
	// AddSource, or the single topic a sink writes. It is empty for a
	// processor and for a sink with a TopicExtractor.
	Topics []string
	// TopicExtractor names the per-record topic choice of a sink that has
	// no fixed topic. It is empty for every other node.
	TopicExtractor string
	// Stores are the state stores a processor is connected to, in the
	// order they were connected.
	Stores []string
	// Predecessors are the names of the node's parents, in the order of
	// Nodes in the node's sub-topology.
	Predecessors []string
	// Successors are the names of the node's children, in the order of
	// Nodes in the node's sub-topology. This is not necessarily the order
	// in which Forward reaches them, which is the order they were added.
	Successors []string
}

// Describe returns a description of the topology's sub-topologies and nodes.
// Its String method prints the text Kafka Streams' Topology.describe()
// prints; DOT and Mermaid draw it.
func (t *Topology) Describe() *Description {
	top := t.engine()
	d := &Description{Subtopologies: make([]SubtopologyDescription, 0, len(top.Subtopologies))}
	for _, st := range top.Subtopologies {
		d.Subtopologies = append(d.Subtopologies, describeSubtopology(st))
	}
	for i, st := range top.Globals {
		d.GlobalStores = append(d.GlobalStores, describeGlobal(st, len(top.Subtopologies)+i))
	}
	return d
}

// describeSubtopology orders nodes as Kafka Streams' NodeComparator
// (InternalTopologyBuilder) does: by descending size, then by name. A node's
// size is one plus the sizes of its children, that is the number of paths
// that start at it; Kafka computes the same number incrementally
// (updateSize).
//
// Kafka keeps each node's predecessors and successors in sets ordered by the
// same comparator, but fills them while sizes are still growing, in hash-map
// order, so an element's place can depend on a size it had before the
// description was complete. Here they are sorted with the final sizes. That
// gives Kafka's order in all but contrived cases (nodes whose subtrees are
// still being counted when they are inserted next to each other); the node
// list itself is sorted after all sizes are known, in Kafka as here, and
// always matches.
func describeSubtopology(st *engine.Subtopology) SubtopologyDescription {
	byName := make(map[string]*engine.NodeDef, len(st.Nodes))
	for _, n := range st.Nodes {
		byName[n.Name] = n
	}
	size := make(map[string]int, len(st.Nodes))
	var sizeOf func(name string) int
	sizeOf = func(name string) int {
		if s, ok := size[name]; ok {
			return s
		}
		s := 1
		if n := byName[name]; n != nil {
			for _, c := range n.Children {
				s = addSaturating(s, sizeOf(c))
			}
		}
		size[name] = s
		return s
	}
	for _, n := range st.Nodes {
		sizeOf(n.Name)
	}
	compare := func(a, b string) int {
		if sa, sb := size[a], size[b]; sa != sb {
			if sa > sb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	}
	sorted := func(names []string) []string {
		if len(names) == 0 {
			return nil
		}
		out := slices.Clone(names)
		slices.SortFunc(out, compare)
		return out
	}

	names := make([]string, len(st.Nodes))
	for i, n := range st.Nodes {
		names[i] = n.Name
	}
	slices.SortFunc(names, compare)

	sd := SubtopologyDescription{ID: st.ID, Nodes: make([]NodeDescription, 0, len(names))}
	for _, name := range names {
		n := byName[name]
		nd := NodeDescription{
			Name:         n.Name,
			Kind:         nodeKindOf(n.Kind),
			Predecessors: sorted(n.Parents),
			Successors:   sorted(n.Children),
		}
		if len(n.Topics) > 0 {
			nd.Topics = slices.Clone(n.Topics)
		}
		if n.Kind == engine.KindSink && len(n.Topics) == 0 {
			nd.TopicExtractor = n.TopicExtractorName
		}
		if len(n.Stores) > 0 {
			nd.Stores = slices.Clone(n.Stores)
		}
		sd.Nodes = append(sd.Nodes, nd)
	}
	return sd
}

func addSaturating(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

// String prints the description as Kafka Streams' TopologyDescription
// toString does, character for character, so tools written for Kafka Streams
// output read it:
//
//	Topologies:
//	   Sub-topology: 0
//	    Source: KSTREAM-SOURCE-0000000000 (topics: [input])
//	      --> KSTREAM-FILTER-0000000001
//	    Processor: KSTREAM-FILTER-0000000001 (stores: [])
//	      --> KSTREAM-SINK-0000000002
//	      <-- KSTREAM-SOURCE-0000000000
//	    Sink: KSTREAM-SINK-0000000002 (topic: output)
//	      <-- KSTREAM-FILTER-0000000001
//
// Each sub-topology ends with an empty line. As in Kafka, the first
// "Sub-topology" line is indented by three spaces and the others by two.
// Names are printed as they are, without quoting.
func (d *Description) String() string {
	var sb strings.Builder
	sb.WriteString("Topologies:\n ")
	if d == nil {
		return sb.String()
	}
	for i := range d.Subtopologies {
		sb.WriteString("  ")
		d.Subtopologies[i].writeText(&sb)
	}
	for i := range d.GlobalStores {
		sb.WriteString("  ")
		d.GlobalStores[i].writeText(&sb)
	}
	return sb.String()
}

// String prints the sub-topology as Kafka Streams does: a "Sub-topology: N"
// line, a line per node and an empty line.
func (s SubtopologyDescription) String() string {
	var sb strings.Builder
	s.writeText(&sb)
	return sb.String()
}

func (s *SubtopologyDescription) writeText(sb *strings.Builder) {
	sb.WriteString("Sub-topology: ")
	sb.WriteString(strconv.Itoa(s.ID))
	sb.WriteString("\n")
	for i := range s.Nodes {
		sb.WriteString("    ")
		s.Nodes[i].writeText(sb)
		sb.WriteString("\n")
	}
	sb.WriteString("\n")
}

// String prints the node as Kafka Streams does, without a trailing newline:
// its kind, name and topics or stores, then "-->" and its successors (not for
// a sink) and "<--" and its predecessors (not for a source). An empty list
// prints as "none".
func (n NodeDescription) String() string {
	var sb strings.Builder
	n.writeText(&sb)
	return sb.String()
}

func (n *NodeDescription) writeText(sb *strings.Builder) {
	sb.WriteString(n.Kind.String())
	sb.WriteString(": ")
	sb.WriteString(n.Name)
	switch n.Kind {
	case KindSource:
		sb.WriteString(" (topics: ")
		writeList(sb, n.Topics)
		sb.WriteString(")\n      --> ")
		writeNames(sb, n.Successors)
	case KindSink:
		if n.TopicExtractor != "" || len(n.Topics) == 0 {
			sb.WriteString(" (extractor class: ")
			sb.WriteString(n.TopicExtractor)
		} else {
			sb.WriteString(" (topic: ")
			sb.WriteString(n.Topics[0])
		}
		sb.WriteString(")\n      <-- ")
		writeNames(sb, n.Predecessors)
	default:
		sb.WriteString(" (stores: ")
		writeList(sb, n.Stores)
		sb.WriteString(")\n      --> ")
		writeNames(sb, n.Successors)
		sb.WriteString("\n      <-- ")
		writeNames(sb, n.Predecessors)
	}
}

// writeList prints list as Java prints a collection: "[a, b]".
func writeList(sb *strings.Builder, list []string) {
	sb.WriteString("[")
	sb.WriteString(strings.Join(list, ", "))
	sb.WriteString("]")
}

// writeNames prints names as Kafka's nodeNames does: "a, b", or "none".
func writeNames(sb *strings.Builder, names []string) {
	if len(names) == 0 {
		sb.WriteString("none")
		return
	}
	sb.WriteString(strings.Join(names, ", "))
}

// DOT draws the description in Graphviz's DOT language. Each sub-topology is
// a cluster ("cluster_N", labelled "Sub-topology N") holding its nodes and
// stores; topics are drawn outside the clusters, so a topic written by one
// sub-topology and read by another links the two. Sources, processors, sinks,
// topics and stores have distinct shapes; a sink with a TopicExtractor points
// to a dashed box naming it. Node IDs are the node names, quoted; topic and
// store IDs are their names prefixed with "topic:" and "store:", with a "~N"
// suffix where that would equal a node name. Render it with, for example,
// `dot -Tsvg`.
func (d *Description) DOT() string {
	var sb strings.Builder
	ids := newDOTIDs(d)
	sb.WriteString("digraph topology {\n")
	sb.WriteString("  graph [fontname=\"Helvetica\"];\n")
	sb.WriteString("  node [fontname=\"Helvetica\"];\n")
	sb.WriteString("  edge [fontname=\"Helvetica\"];\n")
	if d == nil {
		sb.WriteString("}\n")
		return sb.String()
	}
	var edges []string
	edge := func(from, to, attrs string) {
		e := dotQuote(from) + " -> " + dotQuote(to)
		if attrs != "" {
			e += " [" + attrs + "]"
		}
		edges = append(edges, e)
	}
	var topics []string
	seenTopic := map[string]bool{}
	addTopic := func(t string) {
		if !seenTopic[t] {
			seenTopic[t] = true
			topics = append(topics, t)
		}
	}
	for _, st := range d.Subtopologies {
		fmt.Fprintf(&sb, "  subgraph cluster_%d {\n", st.ID)
		fmt.Fprintf(&sb, "    label=%s;\n", dotQuote("Sub-topology "+strconv.Itoa(st.ID)))
		sb.WriteString("    style=rounded;\n")
		var stores []string
		seenStore := map[string]bool{}
		for _, n := range st.Nodes {
			fmt.Fprintf(&sb, "    %s [%s, label=%s];\n", dotQuote(n.Name), dotShape(n.Kind), dotQuote(n.Name))
			switch n.Kind {
			case KindSource:
				for _, t := range n.Topics {
					addTopic(t)
					edge(ids.topic(t), n.Name, "")
				}
			case KindSink:
				if n.TopicExtractor != "" || len(n.Topics) == 0 {
					x := ids.extractor(n.Name)
					fmt.Fprintf(&sb, "    %s [shape=box, style=dashed, label=%s];\n", dotQuote(x), dotQuote("extractor: "+n.TopicExtractor))
					edge(n.Name, x, "style=dashed")
				} else {
					for _, t := range n.Topics {
						addTopic(t)
						edge(n.Name, ids.topic(t), "")
					}
				}
			}
			for _, c := range n.Successors {
				edge(n.Name, c, "")
			}
			for _, s := range n.Stores {
				if !seenStore[s] {
					seenStore[s] = true
					stores = append(stores, s)
				}
				edge(n.Name, ids.store(s), "dir=none, style=dashed")
			}
		}
		for _, s := range stores {
			fmt.Fprintf(&sb, "    %s [shape=cylinder, label=%s];\n", dotQuote(ids.store(s)), dotQuote(s))
		}
		sb.WriteString("  }\n")
	}
	for _, t := range topics {
		fmt.Fprintf(&sb, "  %s [shape=box, style=filled, fillcolor=\"#f2f2f2\", label=%s];\n", dotQuote(ids.topic(t)), dotQuote(t))
	}
	for _, e := range edges {
		sb.WriteString("  ")
		sb.WriteString(e)
		sb.WriteString(";\n")
	}
	sb.WriteString("}\n")
	return sb.String()
}

func dotShape(k NodeKind) string {
	switch k {
	case KindSource:
		return "shape=invtrapezium"
	case KindSink:
		return "shape=trapezium"
	}
	return "shape=ellipse"
}

// dotQuote returns s as a DOT quoted string. Backslashes are doubled so that
// Graphviz does not read label escapes such as \n in names.
func dotQuote(s string) string {
	return `"` + dotEscaper.Replace(s) + `"`
}

var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)

// dotIDs gives topics, stores and extractor boxes DOT IDs that differ from
// every node name and from each other.
type dotIDs struct {
	used       map[string]bool
	topics     map[string]string
	stores     map[string]string
	extractors map[string]string
}

func newDOTIDs(d *Description) *dotIDs {
	ids := &dotIDs{used: map[string]bool{}, topics: map[string]string{}, stores: map[string]string{}, extractors: map[string]string{}}
	if d != nil {
		for _, st := range d.Subtopologies {
			for _, n := range st.Nodes {
				ids.used[n.Name] = true
			}
		}
	}
	return ids
}

func (ids *dotIDs) get(m map[string]string, prefix, name string) string {
	if id, ok := m[name]; ok {
		return id
	}
	id := prefix + name
	for i := 2; ids.used[id]; i++ {
		id = prefix + name + "~" + strconv.Itoa(i)
	}
	ids.used[id] = true
	m[name] = id
	return id
}

func (ids *dotIDs) topic(t string) string     { return ids.get(ids.topics, "topic:", t) }
func (ids *dotIDs) store(s string) string     { return ids.get(ids.stores, "store:", s) }
func (ids *dotIDs) extractor(s string) string { return ids.get(ids.extractors, "extractor:", s) }

// Mermaid draws the description as a Mermaid flowchart ("flowchart TB"), for
// Markdown renderers that support Mermaid. Each sub-topology is a subgraph
// titled "Sub-topology N" holding its nodes and stores; topics are drawn
// outside the subgraphs. Mermaid IDs cannot hold every character a name may
// contain, so nodes get IDs n0, n1, …, topics t0, …, stores s0, …, extractor
// boxes x0, … and sub-topologies sub0, …; names appear only in quoted labels,
// with ", #, <, > and ` escaped as Mermaid entity codes.
func (d *Description) Mermaid() string {
	var sb strings.Builder
	sb.WriteString("flowchart TB\n")
	if d == nil {
		return sb.String()
	}
	nodeID := map[string]string{}
	for _, st := range d.Subtopologies {
		for _, n := range st.Nodes {
			if _, ok := nodeID[n.Name]; !ok {
				nodeID[n.Name] = "n" + strconv.Itoa(len(nodeID))
			}
		}
	}
	topicID := map[string]string{}
	var topics []string
	topic := func(t string) string {
		id, ok := topicID[t]
		if !ok {
			id = "t" + strconv.Itoa(len(topicID))
			topicID[t] = id
			topics = append(topics, t)
		}
		return id
	}
	storeID := map[string]string{}
	nExtractors := 0
	var edges []string
	classes := map[string][]string{}
	for _, st := range d.Subtopologies {
		fmt.Fprintf(&sb, "    subgraph sub%d[%s]\n", st.ID, mermaidQuote("Sub-topology "+strconv.Itoa(st.ID)))
		var stores []string
		for _, n := range st.Nodes {
			id := nodeID[n.Name]
			label := mermaidQuote(n.Name)
			switch n.Kind {
			case KindSource:
				fmt.Fprintf(&sb, "        %s([%s])\n", id, label)
				classes["source"] = append(classes["source"], id)
				for _, t := range n.Topics {
					edges = append(edges, topic(t)+" --> "+id)
				}
			case KindSink:
				fmt.Fprintf(&sb, "        %s[[%s]]\n", id, label)
				classes["sink"] = append(classes["sink"], id)
				if n.TopicExtractor != "" || len(n.Topics) == 0 {
					x := "x" + strconv.Itoa(nExtractors)
					nExtractors++
					fmt.Fprintf(&sb, "        %s[%s]\n", x, mermaidQuote("extractor: "+n.TopicExtractor))
					classes["extractor"] = append(classes["extractor"], x)
					edges = append(edges, id+" -.-> "+x)
				} else {
					for _, t := range n.Topics {
						edges = append(edges, id+" --> "+topic(t))
					}
				}
			default:
				fmt.Fprintf(&sb, "        %s[%s]\n", id, label)
				classes["processor"] = append(classes["processor"], id)
			}
			for _, c := range n.Successors {
				if cid, ok := nodeID[c]; ok {
					edges = append(edges, id+" --> "+cid)
				}
			}
			for _, s := range n.Stores {
				sid, ok := storeID[s]
				if !ok {
					sid = "s" + strconv.Itoa(len(storeID))
					storeID[s] = sid
					stores = append(stores, s)
				}
				edges = append(edges, id+" -.- "+sid)
			}
		}
		for _, s := range stores {
			fmt.Fprintf(&sb, "        %s[(%s)]\n", storeID[s], mermaidQuote(s))
			classes["store"] = append(classes["store"], storeID[s])
		}
		sb.WriteString("    end\n")
	}
	for _, t := range topics {
		fmt.Fprintf(&sb, "    %s[/%s/]\n", topicID[t], mermaidQuote(t))
		classes["topic"] = append(classes["topic"], topicID[t])
	}
	for _, e := range edges {
		sb.WriteString("    ")
		sb.WriteString(e)
		sb.WriteString("\n")
	}
	for _, c := range mermaidClasses {
		if ids := classes[c.name]; len(ids) > 0 {
			fmt.Fprintf(&sb, "    classDef %s %s\n", c.name, c.style)
			fmt.Fprintf(&sb, "    class %s %s\n", strings.Join(ids, ","), c.name)
		}
	}
	return sb.String()
}

var mermaidClasses = []struct{ name, style string }{
	{"topic", "fill:#f2f2f2,stroke:#666"},
	{"source", "fill:#dbeafe,stroke:#1d4ed8"},
	{"processor", "fill:#ffffff,stroke:#333"},
	{"sink", "fill:#dcfce7,stroke:#15803d"},
	{"store", "fill:#fef3c7,stroke:#b45309"},
	{"extractor", "fill:#ffffff,stroke:#666,stroke-dasharray:4 3"},
}

// mermaidQuote returns s as a quoted Mermaid label. Characters Mermaid would
// read as syntax, markup or entity starts are written as entity codes.
func mermaidQuote(s string) string {
	return `"` + mermaidEscaper.Replace(s) + `"`
}

var mermaidEscaper = strings.NewReplacer(
	"#", "#35;",
	`"`, "#quot;",
	"<", "#lt;",
	">", "#gt;",
	"`", "#96;",
	"\r", " ",
	"\n", " ",
)
