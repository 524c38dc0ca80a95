package engine

import (
	"fmt"
	"slices"
	"sort"
)

// A global store holds the whole of its source topic, all partitions, on
// every instance. One global task per instance keeps every global store up to
// date, outside the consumer group and of any sub-topology; the processors of
// every task read the global stores, through read-only views, without being
// connected to them (Task.GlobalStore). The source topic is the store's
// changelog: global stores write none.

// GlobalTaskID is the ID of an instance's global task. Its String is
// "global", the name of its state directory, as in Kafka Streams.
var GlobalTaskID = TaskID{Subtopology: -1, Partition: -1}

// GlobalStore is a store that can be global: tasks other than the one that
// writes it read it through views.
type GlobalStore interface {
	Store
	// NewView returns a read-only view of the store for another task. The
	// view reads what the store holds, safely while the store's own task
	// writes it from another goroutine; its writes fail. Closing the view
	// leaves the store open.
	NewView() (Store, error)
}

// checkGlobals reports misuse of global stores: a global group must be a
// source of one topic, with one processor below it connected to one store,
// which writes no changelog; no other node may connect to that store or hang
// below that group.
func checkGlobals(g *Graph) []error {
	var errs []error
	global := map[string]bool{} // global stores
	for _, n := range g.Nodes {
		if !n.Global {
			continue
		}
		switch n.Kind {
		case KindSource:
			if len(n.Topics) != 1 {
				errs = append(errs, fmt.Errorf("global source %q must read exactly one topic, not %q", n.Name, n.Topics))
			}
			if n.Internal {
				errs = append(errs, fmt.Errorf("global source %q cannot read an internal topic", n.Name))
			}
		case KindProcessor:
			if len(n.Stores) != 1 {
				errs = append(errs, fmt.Errorf("global store processor %q must be connected to exactly one store, not %q", n.Name, n.Stores))
			}
			for _, s := range n.Stores {
				global[s] = true
				def := g.Store(s)
				if def == nil {
					continue // reported by Freeze
				}
				def.Global = true
				if def.Logged {
					errs = append(errs, fmt.Errorf("global store %q must not write a changelog: its source topic is its changelog", s))
				}
			}
			for _, p := range n.Parents {
				if pn := g.byName[p]; pn != nil && !pn.Global {
					errs = append(errs, fmt.Errorf("global store processor %q has parent %q, which is not its global source", n.Name, p))
				}
			}
		default:
			errs = append(errs, fmt.Errorf("%s %q cannot be part of a global store's update path", n.Kind, n.Name))
		}
	}
	for _, n := range g.Nodes {
		if n.Global {
			continue
		}
		for _, p := range n.Parents {
			if pn := g.byName[p]; pn != nil && pn.Global {
				errs = append(errs, fmt.Errorf("%s %q has parent %q, which updates a global store and forwards nothing", n.Kind, n.Name, p))
			}
		}
		for _, s := range n.Stores {
			if global[s] {
				errs = append(errs, fmt.Errorf("%s %q is connected to global store %q: every processor reads global stores without being connected to them", n.Kind, n.Name, s))
			}
		}
	}
	return errs
}

// splitGlobals groups the global nodes by their source, in the order of their
// first node.
func splitGlobals(g *Graph) []*Subtopology {
	var out []*Subtopology
	bySource := map[string]*Subtopology{}
	for _, n := range g.Nodes {
		if !n.Global {
			continue
		}
		root := n.Name
		for len(g.byName[root].Parents) > 0 {
			root = g.byName[root].Parents[0]
		}
		st := bySource[root]
		if st == nil {
			st = &Subtopology{ID: len(out)}
			bySource[root] = st
			out = append(out, st)
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
	for _, st := range out {
		sort.Strings(st.Stores)
	}
	return out
}

// GlobalTopics returns the source topics of the global stores, sorted.
func (t *Topology) GlobalTopics() []string {
	var out []string
	for _, st := range t.Globals {
		out = append(out, st.SourceTopics...)
	}
	sort.Strings(out)
	return out
}

// GlobalStoreOf returns the name of the global store that topic feeds, or "".
func (t *Topology) GlobalStoreOf(topic string) string {
	for _, st := range t.Globals {
		if slices.Contains(st.SourceTopics, topic) && len(st.Stores) == 1 {
			return st.Stores[0]
		}
	}
	return ""
}

// NewGlobalTask makes the task that keeps every global store of top up to
// date: it reads every partition of every global topic (partitions gives
// their counts). It has ID GlobalTaskID and no record cache, so that what it
// writes reaches the storage engine, which other tasks read, at once. It
// returns nil when top has no global store.
func NewGlobalTask(top *Topology, partitions map[string]int, cfg TaskConfig) (*Task, error) {
	if len(top.Globals) == 0 {
		return nil, nil
	}
	st := &Subtopology{ID: GlobalTaskID.Subtopology}
	for _, g := range top.Globals {
		st.Nodes = append(st.Nodes, g.Nodes...)
		st.SourceTopics = append(st.SourceTopics, g.SourceTopics...)
		st.Stores = append(st.Stores, g.Stores...)
	}
	for _, topic := range st.SourceTopics {
		if partitions[topic] < 1 {
			return nil, fmt.Errorf("global topic %q: unknown partition count", topic)
		}
	}
	cfg.Cache = nil
	cfg.Global = nil
	return newTask(top, st, GlobalTaskID, func(topic string) int { return partitions[topic] }, cfg)
}

// GlobalStore returns a read-only view of the global store named name for
// the task, made on first use, or nil when there is no such global store.
func (t *Task) GlobalStore(name string) (Store, error) {
	if v, ok := t.globalViews[name]; ok {
		return v, nil
	}
	g := t.cfg.Global
	if g == nil {
		return nil, nil
	}
	s, ok := g.stores[name].(GlobalStore)
	if !ok {
		if g.stores[name] != nil {
			return nil, fmt.Errorf("global store %q (%T) cannot be read from other tasks", name, g.stores[name])
		}
		return nil, nil
	}
	v, err := s.NewView()
	if err != nil {
		return nil, fmt.Errorf("task %s: view of global store %q: %w", t.ID, name, err)
	}
	if t.globalViews == nil {
		t.globalViews = map[string]Store{}
	}
	t.globalViews[name] = v
	return v, nil
}
