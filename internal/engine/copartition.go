package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// CopartitionGroup is a set of source topics that must have the same number
// of partitions, so that records with equal keys land in tasks of the same
// number: the inputs of a join, for instance.
type CopartitionGroup struct {
	// Topics are the group's source topics, sorted.
	Topics []string
	// Nodes are the nodes that asked for the group, for error messages.
	Nodes []string
}

// checkCopartitions reports co-partition groups that name unknown nodes or
// fewer than two nodes.
func checkCopartitions(g *Graph) []error {
	var errs []error
	for _, group := range g.Copartitions {
		if len(group) < 2 {
			errs = append(errs, fmt.Errorf("a co-partition group needs at least two nodes, got %q", group))
		}
		for _, name := range group {
			if g.byName[name] == nil {
				errs = append(errs, fmt.Errorf("co-partition group %q names unknown node %q", group, name))
			}
		}
	}
	return errs
}

// checkCopartitionSubtopologies reports co-partition groups whose nodes are
// in different sub-topologies: co-partitioning only means something for
// inputs that one task reads together.
func checkCopartitionSubtopologies(t *Topology) []error {
	var errs []error
	for _, group := range t.Graph.Copartitions {
		st := t.nodeSubtopology(group[0])
		for _, name := range group[1:] {
			if other := t.nodeSubtopology(name); other != st {
				errs = append(errs, fmt.Errorf("nodes %q (sub-topology %d) and %q (sub-topology %d) must be co-partitioned, but are not connected: join inputs must be read by one task", group[0], st, name, other))
			}
		}
	}
	return errs
}

// upstreamTopics returns the topics of the sources node reads from, through
// any number of processors.
func (g *Graph) upstreamTopics(node string) []string {
	var topics []string
	for _, n := range g.upstream(node) {
		if n.Kind == KindSource {
			topics = append(topics, n.Topics...)
		}
	}
	return topics
}

// upstream returns node and the nodes above it, through any number of
// nodes, each once.
func (g *Graph) upstream(node string) []*NodeDef {
	var out []*NodeDef
	seen := map[string]bool{}
	stack := []string{node}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := g.byName[name]
		if seen[name] || n == nil {
			continue
		}
		seen[name] = true
		out = append(out, n)
		stack = append(stack, n.Parents...)
	}
	return out
}

// CopartitionGroups returns the topology's co-partition groups, as topics:
// for each group of nodes, the source topics upstream of them. Groups that
// share a topic are merged, as Kafka Streams merges them.
func (t *Topology) CopartitionGroups() []CopartitionGroup {
	var groups []CopartitionGroup
	for _, nodes := range t.Graph.Copartitions {
		var topics []string
		for _, n := range nodes {
			topics = append(topics, t.Graph.upstreamTopics(n)...)
		}
		merged := CopartitionGroup{Topics: topics, Nodes: slices.Clone(nodes)}
		rest := groups[:0]
		for _, g := range groups {
			if slices.ContainsFunc(g.Topics, func(topic string) bool { return slices.Contains(merged.Topics, topic) }) {
				merged.Topics = append(merged.Topics, g.Topics...)
				merged.Nodes = append(merged.Nodes, g.Nodes...)
				continue
			}
			rest = append(rest, g)
		}
		groups = append(rest, merged)
	}
	for i := range groups {
		sort.Strings(groups[i].Topics)
		groups[i].Topics = slices.Compact(groups[i].Topics)
		sort.Strings(groups[i].Nodes)
		groups[i].Nodes = slices.Compact(groups[i].Nodes)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Topics[0] < groups[j].Topics[0] })
	return groups
}

// copartitionCounts decides the partition count of every repartition topic
// in a co-partition group, given the counts each would have on its own. A
// group with topics the application does not create takes their count, which
// must be the same for all of them; a group of repartition topics only takes
// the largest of their counts. A repartition topic whose sink asks for
// another count is an error, as are external topics with different counts.
func (t *Topology) copartitionCounts(writer map[string]*NodeDef, counts map[string]int) (map[string]int, error) {
	fixed := map[string]int{}
	for _, g := range t.CopartitionGroups() {
		var external []string
		target := 0
		for _, topic := range g.Topics {
			if writer[topic] == nil {
				external = append(external, topic)
			}
		}
		if len(external) > 0 {
			target = counts[external[0]]
			for _, topic := range external[1:] {
				if counts[topic] != target {
					return nil, fmt.Errorf("topics %s must have the same number of partitions, because %q read them co-partitioned", describeCounts(external, counts), g.Nodes)
				}
			}
		} else {
			for _, topic := range g.Topics {
				target = max(target, counts[topic])
			}
		}
		for _, topic := range g.Topics {
			sink := writer[topic]
			if sink == nil {
				continue
			}
			if sink.Partitions != 0 && sink.Partitions != target {
				return nil, fmt.Errorf("repartition topic %q asks for %d partitions, but %q read it co-partitioned with %s", topic, sink.Partitions, g.Nodes, describeCounts(external, counts))
			}
			fixed[topic] = target
		}
	}
	return fixed, nil
}

// describeCounts lists topics with their partition counts: "a" (4), "b" (3).
func describeCounts(topics []string, counts map[string]int) string {
	parts := make([]string, len(topics))
	for i, topic := range topics {
		parts[i] = fmt.Sprintf("%q (%d partitions)", topic, counts[topic])
	}
	return strings.Join(parts, ", ")
}
