package engine

import (
	"fmt"
	"slices"
)

// A node that has a record delivered again (Task.Redeliver) gets it from
// the record's source, through every node between: the record is processed
// again from the source down, by every node the source forwards it to, not
// only the node that asked. That is harmless for stateless nodes (filters,
// mappers), repeats the output of sinks (as at-least-once does), and would
// count the record twice in a store: checkRedeliveries refuses a topology
// where a node that redelivers (NodeDef.Redelivers) reads a source whose
// records reach a node with stores.

// checkRedeliveries reports each node marked Redelivers whose sources'
// records reach a node that keeps state, naming both.
func checkRedeliveries(g *Graph) []error {
	var errs []error
	for _, n := range g.Nodes {
		if !n.Redelivers {
			continue
		}
		for _, src := range g.upstreamSources(n.Name) {
			for _, d := range g.downstream(src) {
				if len(d.Stores) > 0 {
					errs = append(errs, fmt.Errorf("%q retries records in place (it has them delivered again from source %q), but %q, which gets that source's records, keeps state in %q and would process them again: retry through a retry topic instead, or read the records from a source no stateful node reads", n.Name, src, d.Name, d.Stores))
				}
			}
		}
	}
	return errs
}

// upstreamSources returns the names of the sources node reads from, through
// any number of nodes, in insertion order.
func (g *Graph) upstreamSources(node string) []string {
	var out []string
	for _, n := range g.upstream(node) {
		if n.Kind == KindSource {
			out = append(out, n.Name)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return g.byName[a].Index - g.byName[b].Index })
	return out
}

// downstream returns the nodes below node (node excluded), each once, in
// insertion order. Children must be filled in.
func (g *Graph) downstream(node string) []*NodeDef {
	var out []*NodeDef
	seen := map[string]bool{node: true}
	stack := slices.Clone(g.byName[node].Children)
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[name] {
			continue
		}
		seen[name] = true
		n := g.byName[name]
		out = append(out, n)
		stack = append(stack, n.Children...)
	}
	slices.SortFunc(out, func(a, b *NodeDef) int { return a.Index - b.Index })
	return out
}

// WritesDeadLetters reports whether a node of the topology writes to the
// application's dead-letter topic whatever the record policies say
// (NodeDef.DeadLetters).
func (t *Topology) WritesDeadLetters() bool {
	for _, n := range t.Graph.Nodes {
		if n.DeadLetters {
			return true
		}
	}
	return false
}
