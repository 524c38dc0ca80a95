package strata

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/internal/engine"
)

// assignTopology builds a topology with one sub-topology per entry of subs,
// reading those topics: a source per topic and a processor joining them, so
// that the topics of an entry are co-partitioned.
func assignTopology(tb testing.TB, subs ...[]string) *engine.Topology {
	tb.Helper()
	return statefulTopology(tb, nil, subs...)
}

// statefulTopology is assignTopology where the processor of each entry of
// subs whose stateful flag is set uses a persistent, logged store.
func statefulTopology(tb testing.TB, stateful []bool, subs ...[]string) *engine.Topology {
	tb.Helper()
	g := &engine.Graph{}
	add := func(n *engine.NodeDef) {
		if err := g.Add(n); err != nil {
			tb.Fatal(err)
		}
	}
	for i, topics := range subs {
		var parents []string
		for _, topic := range topics {
			name := "source-" + topic
			add(&engine.NodeDef{Name: name, Kind: engine.KindSource, Topics: []string{topic}})
			parents = append(parents, name)
		}
		var stores []string
		if i < len(stateful) && stateful[i] {
			store := fmt.Sprintf("store-%d", i)
			if err := g.AddStore(&engine.StoreDef{Name: store, Logged: true, Persistent: true}); err != nil {
				tb.Fatal(err)
			}
			stores = append(stores, store)
		}
		add(&engine.NodeDef{Name: fmt.Sprintf("process-%d", i), Kind: engine.KindProcessor, Parents: parents, Stores: stores})
	}
	top, errs := engine.Freeze(g)
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	if len(top.Subtopologies) != len(subs) {
		tb.Fatalf("built %d sub-topologies, want %d", len(top.Subtopologies), len(subs))
	}
	return top
}

// fakeMember is a group member's join: what it owns and reports.
type fakeMember struct {
	id       string
	instance string
	gen      int32
	owned    map[string][]int32
	// topics it subscribes to; nil means the topology's source topics.
	topics []string
	// userData replaces the user data JoinGroupMetadata writes, if set.
	userData []byte
}

// assignment is a balance's outcome: member => topic => partitions.
type assignment map[string]map[string][]int32

// balanceRound runs one balance the way kgo's group leader does: every
// member's metadata from JoinGroupMetadata, the leader's MemberBalancer and
// BalanceOrError, and each member's ParseSyncAssignment of its share.
func balanceRound(tb testing.TB, b kgo.GroupBalancer, top *engine.Topology, counts map[string]int32, members []fakeMember) assignment {
	tb.Helper()
	out := assignment{}
	for _, m := range members {
		out[m.id] = map[string][]int32{}
	}
	for _, sync := range syncRound(tb, b, top, counts, members) {
		got, err := b.ParseSyncAssignment(sync.MemberAssignment)
		if err != nil {
			tb.Fatal(err)
		}
		if _, ok := out[sync.MemberID]; !ok {
			tb.Fatalf("assignment for unknown member %q", sync.MemberID)
		}
		for topic, ps := range got {
			if len(ps) > 0 {
				out[sync.MemberID][topic] = ps
			}
		}
	}
	return out
}

// syncRound runs one balance and returns the leader's SyncGroup
// assignments.
func syncRound(tb testing.TB, b kgo.GroupBalancer, top *engine.Topology, counts map[string]int32, members []fakeMember) []kmsg.SyncGroupRequestGroupAssignment {
	tb.Helper()
	var join []kmsg.JoinGroupResponseMember
	for _, m := range members {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		if m.instance != "" {
			jm.InstanceID = &m.instance
		}
		topics := m.topics
		if topics == nil {
			topics = slices.Sorted(maps.Keys(top.TopicSubtopology))
		}
		owned := map[string][]int32{}
		for topic, parts := range m.owned {
			owned[topic] = slices.Sorted(slices.Values(parts))
		}
		jm.ProtocolMetadata = b.JoinGroupMetadata(topics, owned, m.gen)
		if m.userData != nil {
			var meta kmsg.ConsumerMemberMetadata
			if err := meta.ReadFrom(jm.ProtocolMetadata); err != nil {
				tb.Fatal(err)
			}
			meta.UserData = m.userData
			jm.ProtocolMetadata = meta.AppendTo(nil)
		}
		join = append(join, jm)
	}
	mb, interests, err := b.MemberBalancer(join)
	if err != nil {
		tb.Fatal(err)
	}
	parts := map[string]int32{}
	for topic := range interests {
		parts[topic] = counts[topic]
	}
	into, err := mb.(kgo.GroupMemberBalancerOrError).BalanceOrError(parts)
	if err != nil {
		tb.Fatal(err)
	}
	return into.IntoSyncAssignment()
}

func tid(s int, p int32) engine.TaskID { return engine.TaskID{Subtopology: s, Partition: p} }

// taskParts lists the partitions of task id, as topic => partition.
func taskParts(top *engine.Topology, counts map[string]int32, id engine.TaskID) []topicPartition {
	var out []topicPartition
	for _, topic := range top.Subtopologies[id.Subtopology].SourceTopics {
		if id.Partition < counts[topic] {
			out = append(out, topicPartition{topic, id.Partition})
		}
	}
	return out
}

// allTasks lists the topology's tasks for the partition counts.
func allTasks(top *engine.Topology, counts map[string]int32) []engine.TaskID {
	var out []engine.TaskID
	for _, st := range top.Subtopologies {
		n := int32(0)
		for _, topic := range st.SourceTopics {
			n = max(n, counts[topic])
		}
		for p := range n {
			out = append(out, engine.TaskID{Subtopology: st.ID, Partition: p})
		}
	}
	return out
}

// claims maps each partition a member reports owning to those members.
func claims(members []fakeMember) map[topicPartition][]string {
	out := map[topicPartition][]string{}
	for _, m := range members {
		for topic, parts := range m.owned {
			for _, p := range parts {
				tp := topicPartition{topic, p}
				if !slices.Contains(out[tp], m.id) {
					out[tp] = append(out[tp], m.id)
				}
			}
		}
	}
	return out
}

// checkSafe checks what must hold of every plan, intermediate or final:
// only the topology's existing partitions are assigned, each to one member;
// a task's partitions go to one member; and a member is given a partition of
// a task another member claims only if it claims that partition itself
// (the cooperative hand-over: a moving task waits until it is revoked).
func checkSafe(tb testing.TB, top *engine.Topology, counts map[string]int32, members []fakeMember, plan assignment) {
	tb.Helper()
	claimed := claims(members)
	taskMember := map[engine.TaskID]string{}
	partMember := map[topicPartition]string{}
	for _, m := range members {
		for topic, parts := range plan[m.id] {
			st, ok := top.TopicSubtopology[topic]
			if !ok {
				tb.Fatalf("%s is assigned topic %q, which the topology does not read", m.id, topic)
			}
			for _, p := range parts {
				tp := topicPartition{topic, p}
				if p < 0 || p >= counts[topic] {
					tb.Fatalf("%s is assigned %v, which does not exist", m.id, tp)
				}
				if other, dup := partMember[tp]; dup {
					tb.Fatalf("%v is assigned to %s and %s", tp, other, m.id)
				}
				partMember[tp] = m.id
				id := engine.TaskID{Subtopology: st, Partition: p}
				if other, ok := taskMember[id]; ok && other != m.id {
					tb.Fatalf("task %s is split between %s and %s", id, other, m.id)
				}
				taskMember[id] = m.id
			}
		}
	}
	for id, mid := range taskMember {
		contested := false
		for _, tp := range taskParts(top, counts, id) {
			contested = contested || slices.ContainsFunc(claimed[tp], func(c string) bool { return c != mid })
		}
		if !contested {
			continue
		}
		for topic, parts := range plan[mid] {
			if top.TopicSubtopology[topic] != id.Subtopology || !slices.Contains(parts, id.Partition) {
				continue
			}
			tp := topicPartition{topic, id.Partition}
			if !slices.Contains(claimed[tp], mid) {
				tb.Fatalf("%s is given %v of task %s while another member still holds part of the task (claims %v)", mid, tp, id, claimed)
			}
		}
	}
}

// checkComplete checks a final plan: every task wholly on one member, and
// every member running floor or ceil of tasks/members. It returns each
// member's tasks.
func checkComplete(tb testing.TB, top *engine.Topology, counts map[string]int32, plan assignment) map[string][]engine.TaskID {
	tb.Helper()
	owner := map[topicPartition]string{}
	for mid, topics := range plan {
		for topic, parts := range topics {
			for _, p := range parts {
				owner[topicPartition{topic, p}] = mid
			}
		}
	}
	byMember := map[string][]engine.TaskID{}
	for mid := range plan {
		byMember[mid] = nil
	}
	tasks := allTasks(top, counts)
	assigned := 0
	for _, id := range tasks {
		parts := taskParts(top, counts, id)
		mid, ok := owner[parts[0]]
		if !ok {
			tb.Fatalf("task %s is not assigned: %v", id, plan)
		}
		for _, tp := range parts[1:] {
			if owner[tp] != mid {
				tb.Fatalf("task %s: %v is on %q but %v on %q", id, parts[0], mid, tp, owner[tp])
			}
		}
		byMember[mid] = append(byMember[mid], id)
		assigned += len(parts)
	}
	if assigned != len(owner) {
		tb.Fatalf("%d partitions assigned, want %d", len(owner), assigned)
	}
	lo, hi := len(tasks)/len(plan), (len(tasks)+len(plan)-1)/len(plan)
	for mid, ids := range byMember {
		if len(ids) < lo || len(ids) > hi {
			tb.Fatalf("%s runs %d tasks, want %d..%d: %v", mid, len(ids), lo, hi, byMember)
		}
	}
	return byMember
}

// group simulates a consumer group of cooperative members.
type group struct {
	tb      testing.TB
	b       kgo.GroupBalancer
	top     *engine.Topology
	counts  map[string]int32
	members []fakeMember
	gen     int32
}

func newGroup(tb testing.TB, top *engine.Topology, counts map[string]int32, ids ...string) *group {
	g := &group{tb: tb, b: newTaskBalancer(top, nil), top: top, counts: counts}
	for _, id := range ids {
		g.join(id)
	}
	return g
}

func (g *group) join(id string) {
	g.members = append(g.members, fakeMember{id: id, gen: -1, owned: map[string][]int32{}})
}

func (g *group) leave(id string) {
	g.members = slices.DeleteFunc(g.members, func(m fakeMember) bool { return m.id == id })
}

// round runs one balance and applies it: each member's owned partitions
// become its assignment. It reports whether any member lost a partition,
// which makes kgo's cooperative members revoke it and rejoin.
func (g *group) round() (assignment, bool) {
	g.tb.Helper()
	plan := balanceRound(g.tb, g.b, g.top, g.counts, g.members)
	checkSafe(g.tb, g.top, g.counts, g.members, plan)
	g.gen++
	lost := false
	for i := range g.members {
		m := &g.members[i]
		for topic, parts := range m.owned {
			for _, p := range parts {
				lost = lost || !slices.Contains(plan[m.id][topic], p)
			}
		}
		m.owned = plan[m.id]
		m.gen = g.gen
	}
	return plan, lost
}

// rebalance runs rounds until no member loses anything, and returns the
// plans. The cooperative protocol needs at most two.
func (g *group) rebalance() []assignment {
	g.tb.Helper()
	var plans []assignment
	for {
		plan, lost := g.round()
		plans = append(plans, plan)
		if !lost {
			break
		}
		if len(plans) == 2 {
			g.tb.Fatalf("members still lose partitions after %d rounds: %v", len(plans), plans)
		}
	}
	return plans
}

// tasks returns each member's tasks from what it owns.
func (g *group) tasks() map[string][]engine.TaskID {
	plan := assignment{}
	for _, m := range g.members {
		plan[m.id] = m.owned
	}
	return checkComplete(g.tb, g.top, g.counts, plan)
}

func TestTaskBalancerProtocol(t *testing.T) {
	b := newTaskBalancer(assignTopology(t, []string{"a"}), nil)
	if got := b.ProtocolName(); got != "strata-task-v1" {
		t.Errorf("ProtocolName() = %q", got)
	}
	if !b.IsCooperative() {
		t.Error("IsCooperative() = false")
	}
}

func TestTaskBalancerCoPartitioned(t *testing.T) {
	top := assignTopology(t, []string{"left", "right"}, []string{"other"})
	counts := map[string]int32{"left": 6, "right": 6, "other": 4}
	g := newGroup(t, top, counts, "m0", "m1", "m2")
	if plans := g.rebalance(); len(plans) != 1 {
		t.Fatalf("a fresh group took %d rounds", len(plans))
	}
	byMember := g.tasks()
	for _, m := range g.members {
		if !slices.Equal(m.owned["left"], m.owned["right"]) {
			t.Errorf("%s owns left%v but right%v", m.id, m.owned["left"], m.owned["right"])
		}
		perSub := map[int]int{}
		for _, id := range byMember[m.id] {
			perSub[id.Subtopology]++
		}
		if perSub[0] != 2 || perSub[1] < 1 || perSub[1] > 2 {
			t.Errorf("%s runs %v tasks per sub-topology, want 2 of sub-topology 0 and 1 or 2 of 1", m.id, perSub)
		}
	}
}

func TestTaskBalancerPartitionCounts(t *testing.T) {
	// Sub-topology 0 has 6 tasks: tasks 4 and 5 read only "wide".
	// "unrelated" is not in the topology and is assigned to nobody.
	top := assignTopology(t, []string{"wide", "narrow"})
	counts := map[string]int32{"wide": 6, "narrow": 4, "unrelated": 5}
	g := newGroup(t, top, counts, "a", "b", "c", "d")
	g.members[0].topics = []string{"narrow", "unrelated", "wide"}
	g.rebalance()
	byMember := g.tasks()
	var all []engine.TaskID
	for _, m := range g.members {
		all = append(all, byMember[m.id]...)
		if _, ok := m.owned["unrelated"]; ok {
			t.Errorf("%s was assigned a topic outside the topology", m.id)
		}
		for _, p := range m.owned["narrow"] {
			if !slices.Contains(m.owned["wide"], p) {
				t.Errorf("%s owns narrow[%d] without wide[%d]", m.id, p, p)
			}
		}
	}
	if len(all) != 6 {
		t.Fatalf("%d tasks assigned, want 6", len(all))
	}
}

func TestTaskBalancerEvenness(t *testing.T) {
	shapes := [][]int32{{1}, {2}, {3}, {6}, {7}, {1, 1}, {4, 4}, {5, 3}, {8, 1}, {2, 3, 5}, {1, 9, 2}}
	for _, shape := range shapes {
		var subs [][]string
		counts := map[string]int32{}
		for i, n := range shape {
			a, b := fmt.Sprintf("s%d-a", i), fmt.Sprintf("s%d-b", i)
			subs = append(subs, []string{a, b})
			counts[a], counts[b] = n, max(1, n-1)
		}
		top := assignTopology(t, subs...)
		for m := 1; m <= 5; m++ {
			t.Run(fmt.Sprintf("%v/%d", shape, m), func(t *testing.T) {
				ids := make([]string, m)
				for i := range ids {
					ids[i] = fmt.Sprintf("member-%d", i)
				}
				g := newGroup(t, top, counts, ids...)
				g.rebalance()
				checkSpread(t, shape, g.tasks())
			})
		}
	}
}

// checkSpread checks that, in an assignment made from scratch, each member
// runs floor or ceil of each sub-topology's tasks over the members.
func checkSpread(tb testing.TB, shape []int32, byMember map[string][]engine.TaskID) {
	tb.Helper()
	for s, n := range shape {
		lo, hi := int(n)/len(byMember), (int(n)+len(byMember)-1)/len(byMember)
		for mid, ids := range byMember {
			k := 0
			for _, id := range ids {
				if id.Subtopology == s {
					k++
				}
			}
			if k < lo || k > hi {
				tb.Errorf("%s runs %d tasks of sub-topology %d, want %d..%d: %v", mid, k, s, lo, hi, byMember)
			}
		}
	}
}

// TestTaskBalancerProperties balances random topologies and random prior
// ownership (partial, contested, stale, for unknown topics and partitions)
// and checks every plan is safe, the group settles in at most two rounds on
// a balanced assignment that a further balance leaves alone, and the plan
// depends on nothing but the input.
func TestTaskBalancerProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 400 {
		var subs [][]string
		var shape []int32
		counts := map[string]int32{}
		for s := range 1 + rng.IntN(3) {
			var topics []string
			n := int32(0)
			for j := range 1 + rng.IntN(3) {
				topic := fmt.Sprintf("t%d-%d", s, j)
				topics = append(topics, topic)
				counts[topic] = 1 + rng.Int32N(8)
				n = max(n, counts[topic])
			}
			subs = append(subs, topics)
			shape = append(shape, n)
		}
		top := assignTopology(t, subs...)
		nm := 1 + rng.IntN(5)
		var members []fakeMember
		for i := range nm {
			m := fakeMember{id: fmt.Sprintf("m%02d", rng.IntN(100)*10+i), gen: int32(rng.IntN(4)) - 1, owned: map[string][]int32{}}
			if rng.IntN(3) == 0 {
				m.instance = fmt.Sprintf("i%d", rng.IntN(5)*10+i)
			}
			members = append(members, m)
		}
		fresh := rng.IntN(4) == 0
		if !fresh {
			topicNames := append(slices.Sorted(maps.Keys(counts)), "unknown")
			for _, topic := range topicNames {
				for p := range counts[topic] + 2 {
					switch r := rng.IntN(10); {
					case r < 3:
					case r < 9:
						i := rng.IntN(nm)
						members[i].owned[topic] = append(members[i].owned[topic], p)
					default:
						for _, i := range rng.Perm(nm)[:min(2, nm)] {
							members[i].owned[topic] = append(members[i].owned[topic], p)
						}
					}
				}
			}
		}
		name := fmt.Sprintf("iter%d", iter)
		g := &group{tb: t, b: newTaskBalancer(top, nil), top: top, counts: counts, members: members}

		// Determinism: the same join, in any member order, gives the
		// same plan.
		first := balanceRound(t, g.b, top, counts, g.members)
		shuffled := slices.Clone(g.members)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if again := balanceRound(t, newTaskBalancer(top, nil), top, counts, shuffled); !assignmentsEqual(first, again) {
			t.Fatalf("%s: plans differ for the same join:\n%v\n%v", name, first, again)
		}

		g.rebalance()
		byMember := g.tasks()
		if fresh {
			checkSpread(t, shape, byMember)
		}
		before := slices.Clone(g.members)
		if plan, lost := g.round(); lost || !assignmentsEqual(plan, ownedOf(before)) {
			t.Fatalf("%s: a settled group changed on the next balance: %v -> %v", name, ownedOf(before), plan)
		}
	}
}

func ownedOf(members []fakeMember) assignment {
	out := assignment{}
	for _, m := range members {
		out[m.id] = m.owned
	}
	return out
}

func assignmentsEqual(x, y assignment) bool {
	return maps.EqualFunc(x, y, func(a, b map[string][]int32) bool {
		return maps.EqualFunc(a, b, func(p, q []int32) bool { return slices.Equal(p, q) })
	})
}

// moves counts the tasks that changed member between two settled groups.
func moves(before, after map[string][]engine.TaskID) int {
	where := map[engine.TaskID]string{}
	for mid, ids := range before {
		for _, id := range ids {
			where[id] = mid
		}
	}
	n := 0
	for mid, ids := range after {
		for _, id := range ids {
			if prev, ok := where[id]; ok && prev != mid {
				n++
			}
		}
	}
	return n
}

func TestTaskBalancerStickyJoin(t *testing.T) {
	for _, shape := range [][]int32{{4}, {6, 6}, {5, 2}, {7, 3, 1}, {12}} {
		var subs [][]string
		counts := map[string]int32{}
		for i, n := range shape {
			subs = append(subs, []string{fmt.Sprintf("s%d-x", i), fmt.Sprintf("s%d-y", i)})
			counts[subs[i][0]], counts[subs[i][1]] = n, n
		}
		top := assignTopology(t, subs...)
		for m := 1; m <= 4; m++ {
			t.Run(fmt.Sprintf("%v/%d+1", shape, m), func(t *testing.T) {
				g := newGroup(t, top, counts)
				for i := range m {
					g.join(fmt.Sprintf("m%d", 2*i))
				}
				g.rebalance()
				before := g.tasks()

				// The newcomer sorts among the others.
				newcomer := "m1"
				g.join(newcomer)
				plans := g.rebalance()
				after := g.tasks()

				// The fewest moves that balance the group: members
				// over the new quota shed the excess, the ceil slots
				// going to members over it.
				nt := len(allTasks(top, counts))
				base, extra := nt/(m+1), nt%(m+1)
				want, over := 0, 0
				for _, ids := range before {
					if len(ids) > base {
						want += len(ids) - base
						over++
					}
				}
				want -= min(extra, over)
				if got := moves(before, after); got != want {
					t.Errorf("%d tasks moved, want %d: %v -> %v", got, want, before, after)
				}
				if len(after[newcomer]) > 0 {
					if len(plans) != 2 {
						t.Fatalf("tasks moved in %d rounds, want 2", len(plans))
					}
					if got := plans[0][newcomer]; len(got) > 0 {
						t.Errorf("the newcomer got %v before its tasks were revoked", got)
					}
				}
			})
		}
	}
}

func TestTaskBalancerStickyLeave(t *testing.T) {
	for _, shape := range [][]int32{{4}, {6, 6}, {5, 2}, {7, 3, 1}} {
		var subs [][]string
		counts := map[string]int32{}
		for i, n := range shape {
			subs = append(subs, []string{fmt.Sprintf("s%d-x", i), fmt.Sprintf("s%d-y", i)})
			counts[subs[i][0]], counts[subs[i][1]] = n, n
		}
		top := assignTopology(t, subs...)
		for m := 2; m <= 5; m++ {
			for leaving := range m {
				t.Run(fmt.Sprintf("%v/%d-%d", shape, m, leaving), func(t *testing.T) {
					g := newGroup(t, top, counts)
					for i := range m {
						g.join(fmt.Sprintf("m%d", i))
					}
					g.rebalance()
					before := g.tasks()
					gone := fmt.Sprintf("m%d", leaving)
					g.leave(gone)
					if plans := g.rebalance(); len(plans) != 1 {
						t.Errorf("a member leaving took %d rounds; survivors lost tasks", len(plans))
					}
					after := g.tasks()
					for mid, ids := range after {
						for _, id := range before[mid] {
							if !slices.Contains(ids, id) {
								t.Errorf("%s lost task %s when %s left", mid, id, gone)
							}
						}
					}
				})
			}
		}
	}
}

func TestTaskBalancerCooperativeTwoPhase(t *testing.T) {
	top := assignTopology(t, []string{"x", "y"})
	counts := map[string]int32{"x": 4, "y": 4}
	g := newGroup(t, top, counts, "a")
	g.rebalance()
	g.join("b")
	plans := g.rebalance()
	if len(plans) != 2 {
		t.Fatalf("%d rounds, want 2", len(plans))
	}
	first, second := plans[0], plans[1]
	if len(first["b"]) != 0 {
		t.Errorf("first round gives b %v while a still owns it", first["b"])
	}
	want := map[string][]int32{"x": {0, 1}, "y": {0, 1}}
	if !maps.EqualFunc(first["a"], want, slices.Equal) {
		t.Errorf("first round gives a %v, want %v", first["a"], want)
	}
	if !maps.EqualFunc(second["a"], want, slices.Equal) {
		t.Errorf("second round gives a %v, want %v", second["a"], want)
	}
	if want := (map[string][]int32{"x": {2, 3}, "y": {2, 3}}); !maps.EqualFunc(second["b"], want, slices.Equal) {
		t.Errorf("second round gives b %v, want %v", second["b"], want)
	}
}

// TestTaskBalancerPartialOwner: an owner that reported only some of a task's
// partitions still owns the task, and the task moves whole.
func TestTaskBalancerPartialOwner(t *testing.T) {
	top := assignTopology(t, []string{"x", "y"})
	counts := map[string]int32{"x": 2, "y": 2}
	g := newGroup(t, top, counts, "a", "b")
	// a owns task 0_0 and only x[1] of task 0_1.
	g.members[0].owned = map[string][]int32{"x": {0, 1}, "y": {0}}
	g.members[0].gen = 3
	plans := g.rebalance()
	if len(plans) != 2 {
		t.Fatalf("%d rounds, want 2: %v", len(plans), plans)
	}
	if len(plans[0]["b"]) != 0 {
		t.Errorf("b got %v while a still held x[1]", plans[0]["b"])
	}
	byMember := g.tasks()
	if want := []engine.TaskID{tid(0, 0)}; !slices.Equal(byMember["a"], want) {
		t.Errorf("a runs %v, want %v", byMember["a"], want)
	}
}

// TestTaskBalancerContested: two members claim one task (one of them stale);
// the newer claim wins, the owner keeps only what it has until the other
// revokes, and then gets the whole task.
func TestTaskBalancerContested(t *testing.T) {
	top := assignTopology(t, []string{"x", "y"})
	counts := map[string]int32{"x": 1, "y": 1}
	g := newGroup(t, top, counts, "a", "b")
	g.members[0].owned, g.members[0].gen = map[string][]int32{"y": {0}}, 4
	g.members[1].owned, g.members[1].gen = map[string][]int32{"x": {0}}, 5
	plans := g.rebalance()
	if len(plans) != 2 {
		t.Fatalf("%d rounds, want 2: %v", len(plans), plans)
	}
	if want := (map[string][]int32{"x": {0}}); !maps.EqualFunc(plans[0]["b"], want, slices.Equal) || len(plans[0]["a"]) != 0 {
		t.Errorf("first round: %v; want b to keep x[0] only", plans[0])
	}
	if want := (map[string][]int32{"x": {0}, "y": {0}}); !maps.EqualFunc(plans[1]["b"], want, slices.Equal) {
		t.Errorf("second round: %v; want b to run the whole task", plans[1])
	}
}

// TestTaskBalancerVsAdjustCooperative shows why the balancer does its own
// cooperative hand-over: kgo's AdjustCooperative works per partition, so a
// task whose owner reported only some of its partitions is split, the new
// member getting the rest while the old one still runs the task.
func TestTaskBalancerVsAdjustCooperative(t *testing.T) {
	top := assignTopology(t, []string{"x", "y"})
	b := newTaskBalancer(top, nil)
	var join []kmsg.JoinGroupResponseMember
	for _, m := range []fakeMember{
		{id: "a", gen: 1, owned: map[string][]int32{"x": {0}}},
		{id: "b", gen: -1},
	} {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		jm.ProtocolMetadata = b.JoinGroupMetadata([]string{"x", "y"}, m.owned, m.gen)
		join = append(join, jm)
	}
	cb, err := kgo.NewConsumerBalancer(b.(kgo.ConsumerBalancerBalance), join)
	if err != nil {
		t.Fatal(err)
	}
	// Move task 0_0 from a to b.
	plan := cb.NewPlan()
	plan.AddPartition(&join[1], "x", 0)
	plan.AddPartition(&join[1], "y", 0)
	plan.AdjustCooperative(cb)
	if got := plan.AsMemberIDMap()["b"]; !slices.Equal(got["y"], []int32{0}) || len(got["x"]) != 0 {
		t.Fatalf("AdjustCooperative gave b %v; expected it to split the task (y[0] now, x[0] later)", got)
	}

	counts := map[string]int32{"x": 1, "y": 1}
	ours := balanceRound(t, b, top, counts, []fakeMember{
		{id: "a", gen: 1, owned: map[string][]int32{"x": {0}}},
		{id: "b", gen: -1},
	})
	if want := (map[string][]int32{"x": {0}, "y": {0}}); !maps.EqualFunc(ours["a"], want, slices.Equal) {
		t.Fatalf("the task balancer gave %v; want a to keep and complete its task", ours)
	}
}

func TestTaskBalancerSpreadsSubtopologies(t *testing.T) {
	top := assignTopology(t, []string{"p"}, []string{"q"})
	counts := map[string]int32{"p": 4, "q": 4}

	// From scratch, each member runs half of each sub-topology.
	g := newGroup(t, top, counts, "a", "b")
	g.rebalance()
	checkSpread(t, []int32{4, 4}, g.tasks())

	// A member owning everything keeps half of each sub-topology when a
	// second one joins, rather than all of sub-topology 0.
	g = newGroup(t, top, counts, "a")
	g.rebalance()
	g.join("b")
	g.rebalance()
	checkSpread(t, []int32{4, 4}, g.tasks())

	// The tasks of a member that left go where their sub-topology has
	// the fewest tasks.
	counts = map[string]int32{"p": 3, "q": 3}
	g = newGroup(t, top, counts, "a", "b")
	g.members[0].owned, g.members[0].gen = map[string][]int32{"p": {0, 1}}, 1
	g.members[1].owned, g.members[1].gen = map[string][]int32{"q": {0, 1}}, 1
	g.rebalance()
	checkSpread(t, []int32{3, 3}, g.tasks())
}

func TestTaskBalancerDeterministic(t *testing.T) {
	top := assignTopology(t, []string{"x", "y"}, []string{"z"})
	counts := map[string]int32{"x": 5, "y": 5, "z": 3}
	members := []fakeMember{
		{id: "c", gen: 2, owned: map[string][]int32{"x": {0, 1, 2}, "y": {0, 1, 2}}},
		{id: "a", gen: 2, owned: map[string][]int32{"z": {0, 1, 2}}},
		{id: "b", gen: -1},
		{id: "d", instance: "static-1", gen: -1},
	}
	b := newTaskBalancer(top, nil)
	want := syncBytes(t, b, counts, members)
	for range 20 {
		rand.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		if got := syncBytes(t, newTaskBalancer(top, nil), counts, members); !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatal("the same join gave different SyncGroup assignments")
		}
	}
}

// syncBytes balances and returns the encoded SyncGroup assignments.
func syncBytes(tb testing.TB, b kgo.GroupBalancer, counts map[string]int32, members []fakeMember) [][]byte {
	tb.Helper()
	var join []kmsg.JoinGroupResponseMember
	for _, m := range members {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		if m.instance != "" {
			jm.InstanceID = &m.instance
		}
		jm.ProtocolMetadata = b.JoinGroupMetadata(slices.Sorted(maps.Keys(counts)), m.owned, m.gen)
		join = append(join, jm)
	}
	mb, _, err := b.MemberBalancer(join)
	if err != nil {
		tb.Fatal(err)
	}
	into, err := mb.(kgo.GroupMemberBalancerOrError).BalanceOrError(counts)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, a := range into.IntoSyncAssignment() {
		out = append(out, append([]byte(a.MemberID+"="), a.MemberAssignment...))
	}
	return out
}

func TestTaskBalancerUserData(t *testing.T) {
	lags := map[engine.TaskID]int64{tid(0, 3): 17, tid(1, 0): -1, tid(0, 1): 1 << 40}
	enc := appendTaskUserData(nil, taskUserData{lags: lags})
	if enc[0] != taskUserDataVersion {
		t.Fatalf("version byte %d", enc[0])
	}
	d, err := parseTaskUserData(enc)
	if err != nil || d.version != taskUserDataVersion || !maps.Equal(d.lags, lags) {
		t.Fatalf("round trip: %+v, %v", d, err)
	}
	if !bytes.Equal(enc, appendTaskUserData(nil, taskUserData{lags: maps.Clone(lags)})) {
		t.Error("encoding is not deterministic")
	}

	// Nothing reported.
	for _, b := range [][]byte{nil, {}, {taskUserDataVersion}} {
		if d, err := parseTaskUserData(b); err != nil || d.lags != nil {
			t.Errorf("parse %v: %+v, %v", b, d, err)
		}
	}

	// A later version with a field this one does not know, before the
	// lags: the unknown field is skipped.
	future := []byte{7, 9, 3, 'a', 'b', 'c'}
	future = append(future, enc[1:]...)
	if d, err := parseTaskUserData(future); err != nil || d.version != 7 || !maps.Equal(d.lags, lags) {
		t.Errorf("future version: %+v, %v", d, err)
	}

	for name, b := range map[string][]byte{
		"version 0":       {0},
		"truncated tag":   {1, 0x80},
		"long field":      {1, 5, 10, 1, 2},
		"huge count":      {1, taskFieldLags, 2, 0xff, 0x7f},
		"truncated entry": {1, taskFieldLags, 3, 1, 0, 0},
	} {
		if d, err := parseTaskUserData(b); err == nil || d.lags != nil {
			t.Errorf("%s: parsed %+v, %v", name, d, err)
		}
	}

	// The hook: JoinGroupMetadata sends what lags returns.
	top := assignTopology(t, []string{"x"})
	b := newTaskBalancer(top, nil).(*taskBalancer)
	b.lags = func() map[engine.TaskID]int64 { return lags }
	var meta kmsg.ConsumerMemberMetadata
	if err := meta.ReadFrom(b.JoinGroupMetadata([]string{"x"}, map[string][]int32{"x": {1, 0}}, 4)); err != nil {
		t.Fatal(err)
	}
	if d, err := parseTaskUserData(meta.UserData); err != nil || !maps.Equal(d.lags, lags) {
		t.Errorf("metadata user data: %+v, %v", d, err)
	}
	if meta.Generation != 4 || len(meta.OwnedPartitions) != 1 || !slices.Equal(meta.OwnedPartitions[0].Partitions, []int32{0, 1}) {
		t.Errorf("metadata: %+v", meta)
	}

	// A member whose user data is unreadable is still balanced.
	counts := map[string]int32{"x": 4}
	plan := balanceRound(t, b, top, counts, []fakeMember{
		{id: "a", gen: 2, owned: map[string][]int32{"x": {0, 1}}, userData: []byte{1, 0x80}},
		{id: "b", gen: 2, owned: map[string][]int32{"x": {2, 3}}, userData: []byte{0}},
	})
	checkComplete(t, top, counts, plan)
	if !slices.Equal(plan["a"]["x"], []int32{0, 1}) {
		t.Errorf("plan %v", plan)
	}
}

func FuzzTaskBalancerUserData(f *testing.F) {
	f.Add([]byte{})
	f.Add(appendTaskUserData(nil, taskUserData{lags: map[engine.TaskID]int64{tid(1, 2): 3}}))
	f.Add([]byte{2, 9, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseTaskUserData(b)
		if err != nil {
			return
		}
		again, err := parseTaskUserData(appendTaskUserData(nil, d))
		if err != nil || !maps.Equal(again.lags, d.lags) {
			t.Fatalf("re-encoding %+v gave %+v, %v", d, again, err)
		}
	})
}

// groupWatch tracks what each real kgo member owns, from its callbacks.
type groupWatch struct {
	top     *engine.Topology
	mu      sync.Mutex
	owned   map[string]map[topicPartition]bool
	revokes map[string]int // non-empty revocations and losses
	errs    []string
	changed chan struct{}
}

func (w *groupWatch) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *groupWatch) assigned(member string, parts map[string][]int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.notify()
	for topic, ps := range parts {
		for _, p := range ps {
			// No other member may hold any partition of the task.
			for other, owned := range w.owned {
				for _, st := range w.top.Subtopologies[w.top.TopicSubtopology[topic]].SourceTopics {
					if other != member && owned[topicPartition{st, p}] {
						w.errs = append(w.errs, fmt.Sprintf("%s was assigned %s[%d] while %s holds %s[%d]", member, topic, p, other, st, p))
					}
				}
			}
			w.owned[member][topicPartition{topic, p}] = true
		}
	}
}

func (w *groupWatch) revoked(member string, parts map[string][]int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.notify()
	n := 0
	for topic, ps := range parts {
		for _, p := range ps {
			delete(w.owned[member], topicPartition{topic, p})
			n++
		}
	}
	if n > 0 {
		w.revokes[member]++
	}
}

// wait blocks until settled holds of what each member owns.
func (w *groupWatch) wait(ctx context.Context, t *testing.T, what string, settled func(map[string]map[topicPartition]bool) bool) {
	t.Helper()
	for {
		w.mu.Lock()
		ok := settled(w.owned)
		state := fmt.Sprint(w.owned)
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-w.changed:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v; owned: %s", what, ctx.Err(), state)
		}
	}
}

// tasksSettled reports whether members own whole tasks, perMember each,
// covering every partition of topics.
func tasksSettled(owned map[string]map[topicPartition]bool, members []string, topics []string, partitions int32, perMember int) bool {
	seen := map[topicPartition]bool{}
	for _, m := range members {
		if len(owned[m]) != perMember*len(topics) {
			return false
		}
		for tp := range owned[m] {
			for _, topic := range topics {
				if !owned[m][topicPartition{topic, tp.partition}] {
					return false
				}
			}
			seen[tp] = true
		}
	}
	return len(seen) == int(partitions)*len(topics)
}

// TestTaskBalancerGroup runs the balancer in real kgo members of one group on
// kfake, reading two co-partitioned topics: each member owns partition p of
// both topics together; when one member leaves, the others take its tasks
// without giving up their own; when a member joins, tasks move to it only
// after their owner revoked them. At no time do two members hold parts of
// one task.
func TestTaskBalancerGroup(t *testing.T) {
	const partitions = 6
	topics := []string{"left", "right"}
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "left", Partitions: partitions}, {Name: "right", Partitions: partitions},
	}})
	top := assignTopology(t, topics)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()

	const groupID = "task-balancer-test"
	w := &groupWatch{top: top, owned: map[string]map[topicPartition]bool{}, revokes: map[string]int{}, changed: make(chan struct{}, 1)}
	clients := map[string]*kgo.Client{}
	start := func(name string) {
		w.mu.Lock()
		w.owned[name] = map[topicPartition]bool{}
		w.mu.Unlock()
		cl, err := c.Client(
			kgo.ConsumerGroup(groupID),
			kgo.ConsumeTopics(topics...),
			kgo.Balancers(newTaskBalancer(top, nil)),
			kgo.SessionTimeout(6*time.Second),
			kgo.HeartbeatInterval(500*time.Millisecond),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { w.assigned(name, m) }),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { w.revoked(name, m) }),
			kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { w.revoked(name, m) }),
		)
		if err != nil {
			t.Fatal(err)
		}
		clients[name] = cl
	}
	stop := func(name string) {
		clients[name].Close()
		delete(clients, name)
	}
	defer func() {
		for name := range clients {
			stop(name)
		}
	}()
	// snapshot returns what each member owns and resets the revocation
	// counts.
	snapshot := func() map[string]map[topicPartition]bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		out := map[string]map[topicPartition]bool{}
		for name, owned := range w.owned {
			out[name] = maps.Clone(owned)
		}
		clear(w.revokes)
		return out
	}
	checkErrs := func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, e := range w.errs {
			t.Error(e)
		}
		w.errs = nil
	}

	names := []string{"m0", "m1", "m2"}
	for _, name := range names {
		start(name)
	}
	w.wait(ctx, t, "three members with two whole tasks each", func(owned map[string]map[topicPartition]bool) bool {
		return tasksSettled(owned, names, topics, partitions, 2)
	})
	checkErrs()
	described, err := c.Admin().DescribeGroups(ctx, groupID)
	if err != nil {
		t.Fatal(err)
	}
	if got := described[groupID].Protocol; got != taskProtocol {
		t.Fatalf("the group uses protocol %q, want %q", got, taskProtocol)
	}

	// m1 leaves: m0 and m2 take its tasks and keep theirs.
	before := snapshot()
	stop("m1")
	survivors := []string{"m0", "m2"}
	w.wait(ctx, t, "two members with three whole tasks each", func(owned map[string]map[topicPartition]bool) bool {
		return tasksSettled(owned, survivors, topics, partitions, 3)
	})
	checkErrs()
	after := snapshot()
	gained := 0
	for _, name := range survivors {
		for tp := range before[name] {
			if !after[name][tp] {
				t.Errorf("%s lost %v when m1 left", name, tp)
			}
		}
		gained += len(after[name]) - len(before[name])
	}
	if gained != len(before["m1"]) {
		t.Errorf("survivors gained %d partitions, m1 had %d", gained, len(before["m1"]))
	}
	w.mu.Lock()
	for _, name := range survivors {
		if w.revokes[name] != 0 {
			t.Errorf("%s gave up partitions when m1 left", name)
		}
	}
	w.mu.Unlock()

	// m3 joins: each survivor hands one task over, and keeps the rest.
	start("m3")
	names = []string{"m0", "m2", "m3"}
	w.wait(ctx, t, "three members with two whole tasks each again", func(owned map[string]map[topicPartition]bool) bool {
		return tasksSettled(owned, names, topics, partitions, 2)
	})
	checkErrs()
	final := snapshot()
	for _, name := range survivors {
		for tp := range final[name] {
			if !after[name][tp] {
				t.Errorf("%s gained %v when m3 joined", name, tp)
			}
		}
	}
}
