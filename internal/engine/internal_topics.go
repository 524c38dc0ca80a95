package engine

import (
	"fmt"
	"sort"
)

// InternalTopicName is the real name of an internal topic.
func InternalTopicName(applicationID, topic string) string {
	return applicationID + "-" + topic
}

// Resolve returns the topology as the application applicationID runs it:
// the topics of internal sources and sinks carry the application's prefix.
// A topology without internal topics is returned as is.
func (t *Topology) Resolve(applicationID string) *Topology {
	internal := false
	for _, n := range t.Graph.Nodes {
		internal = internal || n.Internal
	}
	if !internal {
		return t
	}
	g := &Graph{Stores: t.Graph.Stores, storesByID: t.Graph.storesByID, Copartitions: t.Graph.Copartitions, Serdes: t.Graph.Serdes, byName: map[string]*NodeDef{}}
	for _, n := range t.Graph.Nodes {
		c := *n
		if n.Internal {
			c.Topics = make([]string, len(n.Topics))
			for i, topic := range n.Topics {
				c.Topics[i] = InternalTopicName(applicationID, topic)
			}
		}
		g.Nodes = append(g.Nodes, &c)
		g.byName[c.Name] = &c
	}
	return split(g)
}

// Purpose says why an internal topic exists.
type Purpose int

// Internal topic purposes.
const (
	Repartition Purpose = iota
	Changelog
)

// InternalTopic is a topic an application creates and owns.
type InternalTopic struct {
	Name       string
	Purpose    Purpose
	Partitions int
	Configs    map[string]string
	// Why says what needs the topic, for error messages.
	Why string
}

// Kafka Streams' repartition topic configs. Records are deleted once
// consumed and committed (the runtime purges them), so retention is unbounded.
var repartitionConfigs = map[string]string{
	"cleanup.policy": "delete",
	"retention.ms":   "-1",
	"segment.bytes":  "52428800",
}

// InternalTopics lists the internal topics of a resolved topology with the
// partition counts they need, given the partition counts of the topics it
// reads that it does not create. Repartition topics come first, in the order
// their counts were derived, then changelogs.
//
// A repartition topic takes the count its sink asks for, or else the largest
// count among the topics its writing sub-topology reads (other than itself,
// for a topic the sub-topology reads back); a changelog takes
// its sub-topology's task count: the largest count among the topics the
// sub-topology reads.
func (t *Topology) InternalTopics(applicationID string, partitions func(topic string) (int, bool)) ([]InternalTopic, error) {
	writer := map[string]*NodeDef{} // internal topic -> its sink
	for _, n := range t.Graph.Nodes {
		if n.Internal && n.Kind == KindSink {
			for _, topic := range n.Topics {
				writer[topic] = n
			}
		}
	}
	// The counts are planned twice: once as each topic would have it on
	// its own, then with the counts co-partitioning imposes.
	counts, _, err := t.planRepartitions(writer, partitions, nil)
	if err != nil {
		return nil, err
	}
	fixed, err := t.copartitionCounts(writer, counts)
	if err != nil {
		return nil, err
	}
	counts, out, err := t.planRepartitions(writer, partitions, fixed)
	if err != nil {
		return nil, err
	}
	for _, st := range t.Subtopologies {
		n, err := t.subtopologyCount(st, func(topic string) (int, error) { return counts[topic], nil })
		if err != nil {
			return nil, err
		}
		for _, name := range st.Stores {
			def := t.Graph.Store(name)
			if !def.Logged {
				continue
			}
			out = append(out, InternalTopic{
				Name: ChangelogTopic(applicationID, name), Purpose: Changelog, Partitions: n, Configs: def.ChangelogConfigs,
				Why: fmt.Sprintf("store %q, whose sub-topology %d reads %q", name, st.ID, st.SourceTopics),
			})
		}
	}
	return out, nil
}

// subtopologyCount is a sub-topology's task count: the largest partition
// count among the topics it reads.
func (t *Topology) subtopologyCount(st *Subtopology, count func(topic string) (int, error)) (int, error) {
	n := 0
	for _, topic := range st.SourceTopics {
		c, err := count(topic)
		if err != nil {
			return 0, err
		}
		n = max(n, c)
	}
	return n, nil
}

// planRepartitions returns the partition count of every topic the topology
// reads, and the repartition topics in the order their counts were derived.
// A repartition topic's count is fixed's entry for it, else its sink's, else
// its writing sub-topology's task count.
func (t *Topology) planRepartitions(writer map[string]*NodeDef, partitions func(topic string) (int, bool), fixed map[string]int) (map[string]int, []InternalTopic, error) {
	counts := map[string]int{}
	var out []InternalTopic
	visiting := map[string]bool{}
	var count func(topic string) (int, error)
	count = func(topic string) (int, error) {
		if c, ok := counts[topic]; ok {
			return c, nil
		}
		sink, internal := writer[topic]
		if !internal {
			c, ok := partitions(topic)
			if !ok {
				return 0, fmt.Errorf("topic %q does not exist", topic)
			}
			counts[topic] = c
			return c, nil
		}
		if visiting[topic] {
			if fixed == nil {
				// First pass: internal topics that feed each other
				// (a foreign-key join's subscription and response
				// topics) are each co-partitioned with a topic that
				// fixes their count in the second pass; until then,
				// the cycle adds nothing.
				return 0, nil
			}
			return 0, fmt.Errorf("the partition count of internal topic %q depends on itself", topic)
		}
		visiting[topic] = true
		c, ok := fixed[topic]
		if !ok {
			c = sink.Partitions
		}
		if c == 0 {
			var err error
			st := t.Subtopologies[t.nodeSubtopology(sink.Name)]
			// A topic the sub-topology writes and reads back (an
			// outcome handler's retry topic) takes the count of its
			// other inputs.
			others := func(other string) (int, error) {
				if other == topic {
					return 0, nil
				}
				return count(other)
			}
			if c, err = t.subtopologyCount(st, others); err != nil {
				return 0, fmt.Errorf("internal topic %q: %w", topic, err)
			}
		}
		counts[topic] = c
		out = append(out, InternalTopic{
			Name: topic, Purpose: Repartition, Partitions: c, Configs: repartitionConfigs,
			Why: fmt.Sprintf("repartition sink %q", sink.Name),
		})
		return c, nil
	}
	var topics []string
	for topic := range writer {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		if _, err := count(topic); err != nil {
			return nil, nil, err
		}
	}
	for _, st := range t.Subtopologies {
		for _, topic := range st.SourceTopics {
			if _, err := count(topic); err != nil {
				return nil, nil, err
			}
		}
	}
	return counts, out, nil
}

// nodeSubtopology returns the ID of the sub-topology holding the node.
func (t *Topology) nodeSubtopology(node string) int {
	for _, st := range t.Subtopologies {
		for _, n := range st.Nodes {
			if n.Name == node {
				return st.ID
			}
		}
	}
	return -1
}
