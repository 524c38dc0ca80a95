package kstream

import (
	"fmt"

	"github.com/strata-go/strata/topology"
)

// Split starts routing s into branches, like Kafka Streams' split(): add
// branches with [Splitter.Branch] and finish with [Splitter.Default] or
// [Splitter.NoDefault], which return the branch streams keyed by branch name
// (Kafka Streams keys them by node name, which embeds a counter unless the
// split is named).
//
// Each record goes to the first branch, in the order they were added, whose
// predicate it matches, and to that branch only. A record that matches none
// goes to the default branch, or with NoDefault is dropped. Branches keep
// the stream's serdes and repartition flag.
//
// The split is one node (default name KSTREAM-BRANCH-NNNNNNNNNN) with one
// pass-through child node per branch, named the split node's name, "-" and
// the branch name (Kafka Streams joins the two without the dash). As in
// Kafka Streams, each branch also takes one value of the builder's name
// counter, so generated names match those of the equivalent Kafka topology.
//
// Options: [Named] names the split node.
func (s Stream[K, V]) Split(opts ...Option) *Splitter[K, V] {
	b := s.builder()
	sp := &Splitter[K, V]{s: s, b: b, branches: map[string]Stream[K, V]{}}
	sp.name = collect(b, "Split", "KSTREAM-BRANCH-", 0, opts).name
	topology.AddProcessor(b, sp.name, sp.processor, s.node())
	return sp
}

// Splitter adds the branches of a [Stream.Split]. Its methods record
// mistakes (an empty or duplicate branch name, a nil predicate, a branch
// added after Default or NoDefault) for Builder.Build to report.
type Splitter[K, V any] struct {
	s        Stream[K, V]
	b        *topology.Builder
	name     string
	preds    []func(K, V) bool
	nodes    []string // nodes[i] receives the records matching preds[i]
	dflt     string   // the default branch's node, if any
	branches map[string]Stream[K, V]
	done     bool
}

// Branch adds a branch named name that receives the records for which pred
// returns true and no earlier branch's predicate did.
//
// Options: [Named] names the branch's node instead of
// "<split node>-<name>"; the branch keeps name as its key in the map that
// Default and NoDefault return.
func (sp *Splitter[K, V]) Branch(name string, pred func(key K, value V) bool, opts ...Option) *Splitter[K, V] {
	node, ok := sp.add("Branch", name, opts)
	if !ok {
		return sp
	}
	if pred == nil {
		sp.b.Fail(fmt.Errorf("Split %q: branch %q has a nil predicate", sp.name, name))
	}
	sp.preds = append(sp.preds, pred)
	sp.nodes = append(sp.nodes, node)
	return sp
}

// Default adds a branch named name for the records no other branch takes,
// like Kafka Streams' defaultBranch, and returns every branch's stream keyed
// by branch name.
//
// Options: [Named] names the default branch's node, as for Branch.
func (sp *Splitter[K, V]) Default(name string, opts ...Option) map[string]Stream[K, V] {
	if node, ok := sp.add("Default", name, opts); ok {
		sp.dflt = node
	}
	sp.done = true
	return sp.result()
}

// NoDefault ends the split without a default branch, like Kafka Streams'
// noDefaultBranch: records that match no branch are dropped. It returns
// every branch's stream keyed by branch name.
func (sp *Splitter[K, V]) NoDefault() map[string]Stream[K, V] {
	if sp.done {
		sp.b.Fail(fmt.Errorf("Split %q: NoDefault after Default or NoDefault", sp.name))
	}
	sp.done = true
	return sp.result()
}

func (sp *Splitter[K, V]) result() map[string]Stream[K, V] {
	out := make(map[string]Stream[K, V], len(sp.branches))
	for k, v := range sp.branches {
		out[k] = v
	}
	return out
}

// add adds the node of branch name, reporting whether it did.
func (sp *Splitter[K, V]) add(op, name string, opts []Option) (string, bool) {
	b := sp.b
	// Kafka Streams takes a counter value for every branch, named or not.
	b.NewName("KSTREAM-BRANCHCHILD-")
	o := collectNamed(b, op, func() string { return sp.name + "-" + name }, 0, opts)
	switch {
	case sp.done:
		b.Fail(fmt.Errorf("Split %q: %s %q after Default or NoDefault", sp.name, op, name))
		return "", false
	case name == "":
		b.Fail(fmt.Errorf("Split %q: a branch has an empty name", sp.name))
		return "", false
	}
	if _, dup := sp.branches[name]; dup {
		b.Fail(fmt.Errorf("Split %q: branch name %q is used more than once", sp.name, name))
		return "", false
	}
	topology.AddProcessor(b, o.name, func() topology.Processor[K, V, K, V] {
		return &forwardProc[K, V]{}
	}, sp.name)
	sp.branches[name] = sp.s.same(o.name)
	return o.name, true
}

// processor supplies the split node's processor. It runs once the topology
// is built, when every branch has been added.
func (sp *Splitter[K, V]) processor() topology.Processor[K, V, K, V] {
	return &splitProc[K, V]{preds: sp.preds, nodes: sp.nodes, dflt: sp.dflt}
}

// splitProc forwards each record to one child. The Context API only names
// children, so ForwardTo finds the child by name on every record (a few
// string comparisons), as Kafka's KStreamBranch does. Forwarding by child
// index needs a topology API that does not exist yet.
type splitProc[K, V any] struct {
	passthrough[K, V]
	preds []func(K, V) bool
	nodes []string
	dflt  string
}

func (p *splitProc[K, V]) Process(r topology.Record[K, V]) error {
	for i, pred := range p.preds {
		if pred(r.Key, r.Value) {
			return p.ctx.ForwardTo(p.nodes[i], r)
		}
	}
	if p.dflt != "" {
		return p.ctx.ForwardTo(p.dflt, r)
	}
	return nil
}
