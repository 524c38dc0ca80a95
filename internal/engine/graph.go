package engine

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Kind says what a node does.
type Kind int

// Node kinds.
const (
	KindSource Kind = iota
	KindProcessor
	KindSink
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindSource:
		return "source"
	case KindProcessor:
		return "processor"
	case KindSink:
		return "sink"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// NodeDef describes one node of a topology: what it is, how it connects, and
// how to make an instance of it for a task.
type NodeDef struct {
	Name    string
	Kind    Kind
	Parents []string
	// Topics are the topics a source reads, or the one fixed topic a sink
	// writes (empty for a sink that picks its topic per record).
	Topics []string
	// TopicExtractorName describes a sink's per-record topic choice in
	// Describe output (Kafka Streams prints the extractor's class name).
	TopicExtractorName string
	// Stores are the names of the state stores the node uses.
	Stores []string
	// Internal marks a source or sink whose topics are internal to the
	// application: their real names are "<applicationID>-" followed by
	// Topics. Resolve applies the prefix.
	Internal bool
	// Partitions is the partition count an internal sink asks for its
	// topic; 0 derives it from the sub-topology writing it.
	Partitions int
	// Global marks the source and processor that keep a global store up
	// to date (see Topology.Globals); they run in no task of their own.
	Global bool
	// Redelivers marks a processor that has records delivered again from
	// their source (Task.Redeliver), such as a blocking outcome handler:
	// Freeze checks that nothing a redelivery runs again keeps state
	// (redeliver.go).
	Redelivers bool
	// DeadLetters marks a node that writes to the application's
	// dead-letter topic whatever the record policies say, such as an
	// outcome handler: the runtime then creates the topic.
	DeadLetters bool
	// New makes a fresh instance for one task.
	New func() Node

	// Index is the node's position in insertion order.
	Index int
	// Children are filled in when the graph is frozen, in insertion order.
	Children []string
}

// Graph is a mutable collection of node definitions, in insertion order.
type Graph struct {
	Nodes  []*NodeDef
	byName map[string]*NodeDef
	// Stores in declaration order.
	Stores     []*StoreDef
	storesByID map[string]*StoreDef
	// Copartitions are groups of nodes whose input topics must be
	// co-partitioned, such as the two sides of a join.
	Copartitions [][]string
	// Serdes are the serdes registered on the builder, a serde.Serde[T]
	// for each type T (topology.RegisterSerde), for the test driver.
	Serdes map[reflect.Type]any
}

// AddStore declares a store. It reports an error for a duplicate name.
func (g *Graph) AddStore(s *StoreDef) error {
	if g.storesByID == nil {
		g.storesByID = make(map[string]*StoreDef)
	}
	if _, dup := g.storesByID[s.Name]; dup {
		return fmt.Errorf("store name %q is declared more than once", s.Name)
	}
	g.Stores = append(g.Stores, s)
	g.storesByID[s.Name] = s
	return nil
}

// Store returns the named store definition, or nil.
func (g *Graph) Store(name string) *StoreDef { return g.storesByID[name] }

// Add appends a node definition. It reports an error for a duplicate name.
func (g *Graph) Add(n *NodeDef) error {
	if g.byName == nil {
		g.byName = make(map[string]*NodeDef)
	}
	if _, dup := g.byName[n.Name]; dup {
		return fmt.Errorf("node name %q is used more than once", n.Name)
	}
	n.Index = len(g.Nodes)
	g.Nodes = append(g.Nodes, n)
	g.byName[n.Name] = n
	return nil
}

// Node returns the named definition, or nil.
func (g *Graph) Node(name string) *NodeDef { return g.byName[name] }

// Subtopology is a connected group of nodes: one or more sources, the
// processors below them and their sinks. It runs as one task per partition.
type Subtopology struct {
	ID int
	// Nodes in insertion order.
	Nodes []*NodeDef
	// SourceTopics are the topics the sub-topology reads, sorted.
	SourceTopics []string
	// Stores used by the sub-topology's processors, sorted.
	Stores []string
}

// Topology is a validated, frozen graph split into sub-topologies.
type Topology struct {
	Graph         *Graph
	Subtopologies []*Subtopology
	// TopicSubtopology maps each source topic to the sub-topology reading it.
	TopicSubtopology map[string]int
	// Globals are the groups that keep global stores up to date, one per
	// global store: its source and update processor. They are not
	// sub-topologies: no task is made for them (see NewGlobalTask).
	Globals []*Subtopology
}

// Freeze validates the graph and splits it into sub-topologies. It returns
// every problem found, each naming the node, topic or store involved.
func Freeze(g *Graph) (*Topology, []error) {
	var errs []error
	for _, n := range g.Nodes {
		n.Children = nil
	}
	for _, n := range g.Nodes {
		switch n.Kind {
		case KindSource:
			if len(n.Parents) > 0 {
				errs = append(errs, fmt.Errorf("source %q cannot have parents", n.Name))
			}
		default:
			if len(n.Parents) == 0 {
				errs = append(errs, fmt.Errorf("%s %q has no parent", n.Kind, n.Name))
			}
		}
		seen := map[string]bool{}
		for _, p := range n.Parents {
			pn := g.byName[p]
			switch {
			case p == n.Name:
				errs = append(errs, fmt.Errorf("%s %q names itself as a parent", n.Kind, n.Name))
				continue
			case pn == nil:
				errs = append(errs, fmt.Errorf("%s %q has unknown parent %q", n.Kind, n.Name, p))
				continue
			case pn.Kind == KindSink:
				errs = append(errs, fmt.Errorf("%s %q has parent %q, which is a sink and cannot forward", n.Kind, n.Name, p))
				continue
			case seen[p]:
				errs = append(errs, fmt.Errorf("%s %q names parent %q twice", n.Kind, n.Name, p))
				continue
			}
			seen[p] = true
			pn.Children = append(pn.Children, n.Name)
		}
		for _, s := range n.Stores {
			if g.Store(s) == nil {
				errs = append(errs, fmt.Errorf("%s %q uses unknown store %q", n.Kind, n.Name, s))
			}
		}
	}
	topicReader := map[string]string{}
	for _, n := range g.Nodes {
		if n.Kind != KindSource {
			continue
		}
		if len(n.Topics) == 0 {
			errs = append(errs, fmt.Errorf("source %q reads no topic", n.Name))
		}
		for _, t := range n.Topics {
			if t == "" {
				errs = append(errs, fmt.Errorf("source %q has an empty topic name", n.Name))
				continue
			}
			if other, dup := topicReader[t]; dup {
				if other == n.Name {
					errs = append(errs, fmt.Errorf("source %q lists topic %q twice", n.Name, t))
				} else {
					errs = append(errs, fmt.Errorf("topic %q is read by both source %q and source %q; read it once and branch the stream", t, other, n.Name))
				}
				continue
			}
			topicReader[t] = n.Name
		}
	}
	errs = append(errs, checkCopartitions(g)...)
	errs = append(errs, checkGlobals(g)...)
	errs = append(errs, checkRedeliveries(g)...)
	if cyc := findCycle(g); cyc != nil {
		errs = append(errs, fmt.Errorf("the topology has a cycle: %s", strings.Join(cyc, " -> ")))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	t := split(g)
	errs = append(checkCopartitionSubtopologies(t), checkSourceChangelogs(t)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return t, nil
}

// findCycle returns the node names of a cycle, first node repeated at the end,
// or nil when the graph is acyclic.
func findCycle(g *Graph) []string {
	const (
		white = iota
		grey
		black
	)
	color := make(map[string]int, len(g.Nodes))
	var stack []string
	var found []string
	var visit func(n *NodeDef) bool
	visit = func(n *NodeDef) bool {
		color[n.Name] = grey
		stack = append(stack, n.Name)
		for _, c := range n.Children {
			switch color[c] {
			case grey:
				i := slices.Index(stack, c)
				found = append(slices.Clone(stack[i:]), c)
				return true
			case white:
				if visit(g.byName[c]) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n.Name] = black
		return false
	}
	for _, n := range g.Nodes {
		if color[n.Name] == white && visit(n) {
			return found
		}
	}
	return nil
}

// split groups nodes into sub-topologies: nodes joined by an edge or by a
// shared store belong together. Sub-topologies are numbered in the order of
// their first node, as Kafka Streams numbers them.
func split(g *Graph) *Topology {
	parent := make([]int, len(g.Nodes))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if ra < rb {
			parent[rb] = ra
		} else {
			parent[ra] = rb
		}
	}
	storeOwner := map[string]int{}
	for _, n := range g.Nodes {
		for _, p := range n.Parents {
			union(n.Index, g.byName[p].Index)
		}
		for _, s := range n.Stores {
			if o, ok := storeOwner[s]; ok {
				union(n.Index, o)
			} else {
				storeOwner[s] = n.Index
			}
		}
	}
	t := &Topology{Graph: g, TopicSubtopology: map[string]int{}}
	byRoot := map[int]*Subtopology{}
	for _, n := range g.Nodes {
		if n.Global {
			continue
		}
		r := find(n.Index)
		st := byRoot[r]
		if st == nil {
			st = &Subtopology{ID: len(t.Subtopologies)}
			byRoot[r] = st
			t.Subtopologies = append(t.Subtopologies, st)
		}
		st.Nodes = append(st.Nodes, n)
		if n.Kind == KindSource {
			st.SourceTopics = append(st.SourceTopics, n.Topics...)
		}
		for _, s := range n.Stores {
			if !slices.Contains(st.Stores, s) {
				st.Stores = append(st.Stores, s)
			}
		}
	}
	for _, st := range t.Subtopologies {
		sort.Strings(st.SourceTopics)
		sort.Strings(st.Stores)
		for _, topic := range st.SourceTopics {
			t.TopicSubtopology[topic] = st.ID
		}
	}
	t.Globals = splitGlobals(g)
	return t
}

// Built is the frozen topology as package topology hands it out. Its field is
// unexported so that topology.Topology, defined on it, shows users nothing;
// Strata's own packages convert and call Topology.
type Built struct{ top *Topology }

// NewBuilt wraps t.
func NewBuilt(t *Topology) Built { return Built{top: t} }

// Topology returns the wrapped topology.
func (b Built) Topology() *Topology { return b.top }

// checkSourceChangelogs reports stores whose source-topic changelog is not
// a topic their sub-topology reads.
func checkSourceChangelogs(t *Topology) []error {
	var errs []error
	for _, st := range t.Subtopologies {
		for _, name := range st.Stores {
			def := t.Graph.Store(name)
			if def.SourceTopic == "" {
				continue
			}
			if def.Logged {
				errs = append(errs, fmt.Errorf("store %q restores from source topic %q and cannot also write a changelog", name, def.SourceTopic))
			}
			if !slices.Contains(st.SourceTopics, def.SourceTopic) {
				errs = append(errs, fmt.Errorf("store %q restores from topic %q, which its sub-topology %d does not read (it reads %q)", name, def.SourceTopic, st.ID, st.SourceTopics))
			}
		}
	}
	return errs
}
