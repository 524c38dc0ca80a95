package strata

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
)

// This file is Strata's group balancer: it hands out tasks, not partitions.
//
// Task (s, p) is partition p of every source topic of sub-topology s. The
// balancer assigns a task as a unit, all of its partitions to one member,
// which is what co-partitioned joins need. A sub-topology has as many tasks
// as its largest source topic has partitions; a smaller topic contributes to
// the tasks whose partition it has.
//
// A balance works in three steps:
//
//  1. Ownership. Members report the partitions they own (the consumer
//     protocol's OwnedPartitions). A member owning any partition of a task
//     owns the task. When several members claim one task, the claim with
//     the highest generation wins, then the claim with more of the task's
//     partitions, then the first member in order.
//  2. Target. Every member is to run floor(T/M) or ceil(T/M) of the T
//     tasks. Owners keep their tasks up to that quota (the ceil slots go
//     to the members owning the most, so the fewest tasks move); when an
//     owner must give some up, it keeps an even mix of sub-topologies. The
//     tasks left over go to the members below quota, preferring a member of
//     the process whose state of the task lags least (see below), then the
//     member with the fewest tasks of the same sub-topology, so a
//     sub-topology's tasks are spread over the members too.
//  3. Cooperative hand-over (KIP-429). A member gets a task now only if no
//     other member claims any partition of it. Otherwise the task is held
//     back, whole: every other claimant is not given it, so it revokes it
//     and rejoins, and the follow-up rebalance, where the task is unowned,
//     assigns it. A target member that is itself the task's owner keeps
//     exactly the partitions it already has meanwhile. So no task ever runs
//     on two members, and a moving task moves all its partitions together.
//     (kgo's BalancePlan.AdjustCooperative does this per partition: a task
//     whose owner reported only some of its partitions would be split,
//     the unreported partitions going to the new member at once.)
//
// Members are sorted as kgo sorts them (instance ID, then member ID) and
// nothing depends on map order, so the same input always gives the same
// plan.
//
// Two refinements use what members report in their user data (see
// taskUserDataVersion): the process (instance) each member belongs to, and
// the changelog lag of the task state it holds, on disk or in a standby
// replica. A task that has no owner goes, among the members with room for
// it, to a member of the process whose state of it lags least; and each
// stateful task gets standby replicas on members of other processes than its
// active's (assign_standby.go), sent in the assignment's user data.
//
// The member metadata is the consumer protocol's, so kgo's helpers parse it
// and cooperative rebalancing works as with kgo's own balancers.

// taskProtocol names the task balancer's group protocol. The broker picks a
// protocol every member offers, so all members of an application must offer
// it. A change that older members cannot follow needs a new name.
const taskProtocol = "strata-task-v1"

// taskBalancer is a kgo.GroupBalancer assigning the tasks of a topology; see
// the top of this file.
type taskBalancer struct {
	top *engine.Topology
	log *slog.Logger
	// lags, when set, returns how many changelog records this member's
	// local state of each task is behind, for the tasks it has state
	// for. JoinGroupMetadata sends it in the member's user data.
	//
	// The broker compares a rejoining member's metadata with its last to
	// decide whether to rebalance, so lags should change in coarse steps.
	lags func() map[engine.TaskID]int64
	// process identifies this member's process (its instance), sent in
	// its user data: the members of one process share state on disk.
	process string
	// standbyReplicas is how many standby replicas the leader plans for
	// each stateful task.
	standbyReplicas int
	// onStandbys, when set, is given the standby tasks of each
	// assignment this member receives, before the partitions are
	// assigned or revoked.
	onStandbys func([]engine.TaskID)
	// shutdown, when set, returns why this member's instance asks the
	// application to stop ("" when it does not), sent in its user data.
	shutdown func() string
	// onShutdown, when set, is called when an assignment says the
	// application stops, with the reason.
	onShutdown func(reason string)
	// server is this member's ApplicationServer, sent in its user data.
	server string
	// onInstances, when set, is given the map of the application's
	// instances that each assignment carries (assign_hosts.go).
	onInstances func(iq.Metadata)
}

// newTaskBalancer returns the group balancer assigning top's tasks, using
// protocol "strata-task-v1". top must be the resolved topology: its source
// topics are the topics the members subscribe to. A nil log discards.
func newTaskBalancer(top *engine.Topology, log *slog.Logger) kgo.GroupBalancer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &taskBalancer{top: top, log: log}
}

// ProtocolName implements kgo.GroupBalancer.
func (*taskBalancer) ProtocolName() string { return taskProtocol }

// IsCooperative implements kgo.GroupBalancer: members keep their tasks
// through a rebalance and give up only what moves.
func (*taskBalancer) IsCooperative() bool { return true }

// JoinGroupMetadata implements kgo.GroupBalancer. It is the consumer
// protocol's member metadata (version 3): the topics, the partitions this
// member owns, its generation, and Strata's user data. The output is
// deterministic so that an unchanged member does not trigger a rebalance.
func (b *taskBalancer) JoinGroupMetadata(topics []string, current map[string][]int32, generation int32) []byte {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 3
	meta.Topics = topics
	meta.Generation = generation
	for _, topic := range sortedKeys(current) {
		if len(current[topic]) == 0 {
			continue
		}
		owned := kmsg.NewConsumerMemberMetadataOwnedPartition()
		owned.Topic = topic
		owned.Partitions = slices.Sorted(slices.Values(current[topic]))
		meta.OwnedPartitions = append(meta.OwnedPartitions, owned)
	}
	data := taskUserData{process: b.process, server: b.server}
	if b.lags != nil {
		data.lags = b.lags()
	}
	if b.shutdown != nil {
		data.shutdown = b.shutdown()
	}
	meta.UserData = appendTaskUserData(nil, data)
	return meta.AppendTo(nil)
}

// ParseSyncAssignment implements kgo.GroupBalancer. The assignment is the
// consumer protocol's; its user data holds the member's standby tasks
// (assign_standby.go), which go to onStandbys.
func (b *taskBalancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(assignment); err != nil {
		return nil, fmt.Errorf("parse sync assignment: %w", err)
	}
	out := make(map[string][]int32, len(a.Topics))
	for _, t := range a.Topics {
		out[t.Topic] = t.Partitions
	}
	standbys, err := parseAssignmentUserData(a.UserData)
	if err != nil {
		// The partitions still hold: run them, without standbys.
		b.log.Warn("task balancer: ignoring unreadable assignment user data", "err", err)
	}
	if b.onStandbys != nil {
		b.onStandbys(standbys)
	}
	if reason := parseAssignmentShutdown(a.UserData); reason != "" && b.onShutdown != nil {
		b.onShutdown(reason)
	}
	if md, ok, err := parseAssignmentInstances(a.UserData); err != nil {
		b.log.Warn("task balancer: ignoring an unreadable map of instances", "err", err)
	} else if ok && b.onInstances != nil {
		b.onInstances(md)
	}
	return out, nil
}

// MemberBalancer implements kgo.GroupBalancer: members' metadata is parsed
// as the consumer protocol's, and Balance below does the balancing.
func (b *taskBalancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	cb, err := kgo.NewConsumerBalancer(b, members)
	if err != nil {
		return nil, nil, err
	}
	return cb, cb.MemberTopics(), nil
}

// taskMember is one group member as the balancer sees it.
type taskMember struct {
	join *kmsg.JoinGroupResponseMember
	// owned are the partitions the member reported owning, by topic.
	owned      map[string][]int32
	generation int32
	data       taskUserData
}

// Balance implements kgo.ConsumerBalancerBalance. It runs on the group
// leader; topics holds the partition count of every topic a member
// subscribes to.
func (b *taskBalancer) Balance(cb *kgo.ConsumerBalancer, topics map[string]int32) kgo.IntoSyncAssignment {
	var members []taskMember
	cb.EachMember(func(m *kmsg.JoinGroupResponseMember, meta *kmsg.ConsumerMemberMetadata) {
		tm := taskMember{join: m, owned: map[string][]int32{}, generation: meta.Generation}
		for _, o := range meta.OwnedPartitions {
			tm.owned[o.Topic] = append(tm.owned[o.Topic], o.Partitions...)
		}
		data, err := parseTaskUserData(meta.UserData)
		if err != nil {
			b.log.Warn("task balancer: ignoring a member's unreadable user data", "member", m.MemberID, "err", err)
		}
		tm.data = data
		for _, topic := range meta.Topics {
			if _, ok := b.top.TopicSubtopology[topic]; !ok {
				b.log.Warn("task balancer: a member subscribes to a topic the topology does not read; is it running another version?", "member", m.MemberID, "topic", topic)
			}
		}
		members = append(members, tm)
	})
	slices.SortFunc(members, func(x, y taskMember) int { return compareMembers(x.join, y.join) })
	for _, m := range members {
		if m.data.shutdown != "" {
			// The application stops: no member gets a task, so
			// none is moved to another instance on its way out.
			b.log.Warn("task balancer: a member asks the application to stop; telling every member", "member", m.join.MemberID, "reason", m.data.shutdown)
			return withStandbys(cb.NewPlan(), members, make([][]engine.TaskID, len(members)), m.data.shutdown, iq.Metadata{})
		}
	}
	p := b.plan(topics, members)
	plan := cb.NewPlan()
	for i, m := range members {
		for _, topic := range sortedKeys(p.assigned[i]) {
			plan.AddPartitions(m.join, topic, p.assigned[i][topic])
		}
	}
	b.log.Info("task balancer: balanced", "generation", cb.Info().Generation, "members", len(members),
		"tasks", p.tasks, "kept", p.kept, "moved", p.moved, "new", p.tasks-p.kept-p.moved, "deferred", p.deferred,
		"standbys", p.standbyCount, "standbys_missing", p.standbyMissing)
	if b.log.Enabled(context.Background(), slog.LevelDebug) {
		for i, m := range members {
			b.log.Debug("task balancer: member plan", "member", m.join.MemberID, "tasks", p.target[i], "assigned", p.assigned[i], "standbys", p.standby[i])
		}
	}
	return withStandbys(plan, members, p.standby, "", instanceMap(cb.Info().Generation, members, p.space, p))
}

// compareMembers orders members as kgo does: static members first, by
// instance ID, then by member ID.
func compareMembers(x, y *kmsg.JoinGroupResponseMember) int {
	switch {
	case x.InstanceID != nil && y.InstanceID == nil:
		return -1
	case x.InstanceID == nil && y.InstanceID != nil:
		return 1
	case x.InstanceID != nil:
		if c := cmp.Compare(*x.InstanceID, *y.InstanceID); c != 0 {
			return c
		}
	}
	return cmp.Compare(x.MemberID, y.MemberID)
}

// taskPlan is the outcome of one balance, by member index.
type taskPlan struct {
	// target are the tasks each member runs once every hand-over is
	// done, sorted.
	target [][]engine.TaskID
	// assigned are the partitions each member gets in this generation:
	// its target, less what another member must revoke first.
	assigned []map[string][]int32
	// tasks counts the topology's tasks; kept, those staying with their
	// owner; moved, those changing member; deferred, those held back
	// (wholly or partly) until another member revokes them.
	tasks, kept, moved, deferred int
	// standby are each member's standby tasks, sorted; standbyCount
	// counts them, and standbyMissing counts the replicas that found no
	// member of another process.
	standby                      [][]engine.TaskID
	standbyCount, standbyMissing int
	// space numbers the tasks.
	space *taskSpace
}

// plan balances the topology's tasks over members, which are sorted.
func (b *taskBalancer) plan(topics map[string]int32, members []taskMember) *taskPlan {
	ts := newTaskSpace(b.top, topics)
	nt, nm := len(ts.ids), len(members)
	p := &taskPlan{tasks: nt, target: make([][]engine.TaskID, nm), assigned: make([]map[string][]int32, nm), standby: make([][]engine.TaskID, nm), space: ts}
	for i := range p.assigned {
		p.assigned[i] = map[string][]int32{}
	}
	if nm == 0 {
		return p
	}

	// 1. Ownership.
	owner := make([]int, nt)
	ownerGen := make([]int32, nt)
	ownerParts := make([]int, nt)
	for k := range owner {
		owner[k] = -1
	}
	claimants := make([][]int, nt)
	for i, m := range members {
		claimed := map[int]int{} // task => partitions claimed
		for topic, parts := range m.owned {
			for _, part := range parts {
				if k, ok := ts.task(topic, part); ok {
					claimed[k]++
				}
			}
		}
		for k, n := range claimed {
			claimants[k] = append(claimants[k], i)
			// Members come in order, so the first of equals wins.
			if o := owner[k]; o < 0 || m.generation > ownerGen[k] || m.generation == ownerGen[k] && n > ownerParts[k] {
				owner[k], ownerGen[k], ownerParts[k] = i, m.generation, n
			}
		}
	}

	// 2. Target.
	base, extra := nt/nm, nt%nm
	ownedBy := make([][]int, nm)
	for k, o := range owner {
		if o >= 0 {
			ownedBy[o] = append(ownedBy[o], k)
		}
	}
	quota := make([]int, nm)
	var over []int
	for i := range quota {
		quota[i] = base
		if len(ownedBy[i]) > base {
			over = append(over, i)
		}
	}
	slices.SortStableFunc(over, func(x, y int) int { return cmp.Compare(len(ownedBy[y]), len(ownedBy[x])) })
	for _, i := range over[:min(extra, len(over))] {
		quota[i]++
	}
	assignedTo := make([]int, nt)
	for k := range assignedTo {
		assignedTo[k] = -1
	}
	count := make([]int, nm)
	perSub := make([][]int, nm) // member => sub-topology index => tasks
	give := func(k, i int) {
		assignedTo[k] = i
		count[i]++
		perSub[i][ts.sub[k]]++
	}
	for i := range members {
		perSub[i] = make([]int, len(ts.subs))
		for _, k := range ts.spread(ownedBy[i], quota[i]) {
			give(k, i)
		}
	}
	spare := extra // ceil slots not yet taken
	for i := range members {
		if count[i] > base {
			spare--
		}
	}
	lag := newProcessLags(ts, members)
	for k := range nt {
		if assignedTo[k] >= 0 {
			continue
		}
		s, best := ts.sub[k], -1
		for i := range members {
			if count[i] > base || count[i] == base && spare == 0 {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			// A member whose process has the task's state, the
			// least behind, restores least; then load decides.
			if c := lag.compare(k, i, best); c != 0 {
				if c < 0 {
					best = i
				}
				continue
			}
			if lessLoaded(perSub[i][s], count[i], perSub[best][s], count[best], base) {
				best = i
			}
		}
		if count[best] == base {
			spare--
		}
		give(k, best)
	}

	// 3. Cooperative hand-over.
	for k, i := range assignedTo {
		p.target[i] = append(p.target[i], ts.ids[k])
		switch owner[k] {
		case i:
			p.kept++
		case -1:
		default:
			p.moved++
		}
		contested := slices.ContainsFunc(claimants[k], func(j int) bool { return j != i })
		for _, tp := range ts.partitions(k) {
			switch {
			case !contested:
			case owner[k] == i && slices.Contains(members[i].owned[tp.topic], tp.partition):
			default:
				continue
			}
			p.assigned[i][tp.topic] = append(p.assigned[i][tp.topic], tp.partition)
		}
		if contested {
			p.deferred++
		}
	}
	b.placeStandbys(p, ts, assignedTo, count, lag)
	return p
}

// lessLoaded reports whether a member with sub tasks of the sub-topology
// being placed and n tasks in all is a better place for a task than one
// with otherSub and otherN: fewer of the sub-topology's tasks first, then
// not taking a ceil slot, then fewer tasks. Ties keep the earlier member.
func lessLoaded(sub, n, otherSub, otherN, base int) bool {
	if sub != otherSub {
		return sub < otherSub
	}
	if ceil, otherCeil := n >= base, otherN >= base; ceil != otherCeil {
		return !ceil
	}
	return n < otherN
}

// taskSpace numbers the tasks of a topology for given partition counts:
// sub-topology by sub-topology, then by partition.
type taskSpace struct {
	topics map[string]int32
	subs   []*engine.Subtopology
	// first is the number of the first task of each sub-topology, by
	// index in subs; first[len(subs)] is the number of tasks.
	first []int
	// subIndex maps a sub-topology ID to its index in subs.
	subIndex map[int]int
	ids      []engine.TaskID
	sub      []int // task => sub-topology index
	top      *engine.Topology
}

func newTaskSpace(top *engine.Topology, topics map[string]int32) *taskSpace {
	ts := &taskSpace{topics: topics, subs: top.Subtopologies, first: make([]int, len(top.Subtopologies)+1), subIndex: map[int]int{}, top: top}
	for si, st := range top.Subtopologies {
		ts.subIndex[st.ID] = si
		n := int32(0)
		for _, topic := range st.SourceTopics {
			n = max(n, topics[topic])
		}
		for part := range n {
			ts.ids = append(ts.ids, engine.TaskID{Subtopology: st.ID, Partition: part})
			ts.sub = append(ts.sub, si)
		}
		ts.first[si+1] = len(ts.ids)
	}
	return ts
}

// task returns the number of the task reading partition part of topic, if
// the topology reads the topic and the partition exists.
func (ts *taskSpace) task(topic string, part int32) (int, bool) {
	st, ok := ts.top.TopicSubtopology[topic]
	if !ok || part < 0 || part >= ts.topics[topic] {
		return 0, false
	}
	si, ok := ts.subIndex[st]
	if !ok {
		return 0, false
	}
	return ts.first[si] + int(part), true
}

// partitions lists the partitions of task k, by topic.
func (ts *taskSpace) partitions(k int) []topicPartition {
	id := ts.ids[k]
	var out []topicPartition
	for _, topic := range ts.subs[ts.sub[k]].SourceTopics {
		if id.Partition < ts.topics[topic] {
			out = append(out, topicPartition{topic, id.Partition})
		}
	}
	return out
}

// spread picks n of tasks (sorted), spreading them over sub-topologies in
// proportion to the sub-topologies' task counts: it repeatedly takes the
// lowest partition of the sub-topology whose share would stay lowest. With
// n or fewer tasks it returns them all.
func (ts *taskSpace) spread(tasks []int, n int) []int {
	if len(tasks) <= n {
		return tasks
	}
	bySub := make([][]int, len(ts.subs))
	for _, k := range tasks {
		bySub[ts.sub[k]] = append(bySub[ts.sub[k]], k)
	}
	taken := make([]int, len(ts.subs))
	size := func(s int) int { return ts.first[s+1] - ts.first[s] }
	out := make([]int, 0, n)
	for len(out) < n {
		best := -1
		for s := range bySub {
			if len(bySub[s]) == 0 {
				continue
			}
			// (taken[s]+1)/size(s) < (taken[best]+1)/size(best)
			if best < 0 || (taken[s]+1)*size(best) < (taken[best]+1)*size(s) {
				best = s
			}
		}
		out = append(out, bySub[best][0])
		bySub[best] = bySub[best][1:]
		taken[best]++
	}
	slices.Sort(out)
	return out
}

// Strata's user data in the consumer protocol's member metadata is a
// version byte followed by fields, each a uvarint tag, a uvarint length and
// that many bytes:
//
//	userData = version:byte field*
//	field    = tag:uvarint length:uvarint payload:byte[length]
//
// The framing never changes. A reader skips fields whose tag it does not
// know, and reads the fields it knows in any version from 1 on, so a later
// version adds fields (task lags, a process ID, rack) without a new
// protocol. A field whose meaning changes gets a new tag. Empty user data
// means the member reports nothing.
//
// Fields of version 1:
//
//	tag 1, task lags: count:uvarint (subtopology:uvarint partition:uvarint lag:varint)*
//	  sorted by task; lag is the number of changelog records the member's
//	  local state of the task is behind (KIP-441), or -1 if unknown.
//
// Version 2 adds:
//
//	tag 2, process: the member's process ID (its instance ID), UTF-8.
//	  Members of one process share their state on disk; standby replicas
//	  go to other processes than their active task's.
//
// A version 1 reader skips the process field; a member that sends none is
// a process of its own.
//
// Version 3 adds:
//
//	tag 3, shutdown: why the member's instance asks every instance of the
//	  application to stop (UncaughtErrorAction StopApplication), UTF-8.
//	  The leader then sends the reason in every member's assignment.
//
// Version 4 adds:
//
//	tag 4, server: the member's instance's Config.ApplicationServer,
//	  "host:port", UTF-8, where it serves interactive queries. The leader
//	  sends every member the map of instances, with their servers and
//	  tasks, in its assignment (assign_hosts.go).
const taskUserDataVersion = 4

// Field tags of Strata's user data.
const (
	taskFieldLags     = 1
	taskFieldProcess  = 2
	taskFieldShutdown = 3
	taskFieldServer   = 4
)

// taskUserData is what a member reports in its user data.
type taskUserData struct {
	// version is the version the member wrote; 0 when it sent nothing.
	version byte
	// lags are the changelog lags of the task state the member holds.
	lags map[engine.TaskID]int64
	// process is the member's process ID; "" when not reported.
	process string
	// shutdown is why the member asks the application to stop; "" when
	// it does not.
	shutdown string
	// server is the member's ApplicationServer; "" when not reported.
	server string
}

// appendTaskUserData appends d's encoding to dst.
func appendTaskUserData(dst []byte, d taskUserData) []byte {
	dst = append(dst, taskUserDataVersion)
	if len(d.lags) > 0 {
		ids := make([]engine.TaskID, 0, len(d.lags))
		for id := range d.lags {
			if id.Subtopology >= 0 && id.Partition >= 0 {
				ids = append(ids, id)
			}
		}
		slices.SortFunc(ids, compareTaskIDs)
		f := binary.AppendUvarint(nil, uint64(len(ids)))
		for _, id := range ids {
			f = binary.AppendUvarint(f, uint64(id.Subtopology))
			f = binary.AppendUvarint(f, uint64(id.Partition))
			f = binary.AppendVarint(f, d.lags[id])
		}
		dst = appendField(dst, taskFieldLags, f)
	}
	if d.process != "" {
		dst = appendField(dst, taskFieldProcess, []byte(d.process))
	}
	if d.shutdown != "" {
		dst = appendField(dst, taskFieldShutdown, []byte(d.shutdown))
	}
	if d.server != "" {
		dst = appendField(dst, taskFieldServer, []byte(d.server))
	}
	return dst
}

// appendField appends one field of the user data framing to dst.
func appendField(dst []byte, tag uint64, payload []byte) []byte {
	dst = binary.AppendUvarint(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	return append(dst, payload...)
}

// errTaskUserData reports malformed user data.
var errTaskUserData = errors.New("malformed task balancer user data")

// parseTaskUserData decodes user data written by appendTaskUserData, of this
// version or a later one. Malformed data is an error wrapping
// errTaskUserData, with nothing decoded: the balancer then treats the member
// as reporting nothing.
func parseTaskUserData(b []byte) (taskUserData, error) {
	var d taskUserData
	version, err := parseFields(b, func(tag uint64, field []byte) error {
		switch tag {
		case taskFieldLags:
			lags, err := parseTaskLags(field)
			if err != nil {
				return fmt.Errorf("task lags: %v", err)
			}
			d.lags = lags
		case taskFieldProcess:
			d.process = string(field)
		case taskFieldShutdown:
			d.shutdown = string(field)
		case taskFieldServer:
			d.server = string(field)
		}
		return nil
	})
	if err != nil {
		return taskUserData{}, err
	}
	d.version = version
	return d, nil
}

// parseFields walks user data in the framing above, calling each with the
// fields in order, and returns the version byte; 0 for empty data. Malformed
// framing, or an error from each, is an error wrapping errTaskUserData.
func parseFields(b []byte, each func(tag uint64, field []byte) error) (byte, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if b[0] == 0 {
		return 0, fmt.Errorf("%w: version 0", errTaskUserData)
	}
	r := b[1:]
	for len(r) > 0 {
		tag, n := binary.Uvarint(r)
		if n <= 0 {
			return 0, fmt.Errorf("%w: bad field tag", errTaskUserData)
		}
		r = r[n:]
		size, n := binary.Uvarint(r)
		if n <= 0 || size > uint64(len(r)-n) {
			return 0, fmt.Errorf("%w: field %d: bad length", errTaskUserData, tag)
		}
		field := r[n : n+int(size)]
		r = r[n+int(size):]
		if err := each(tag, field); err != nil {
			return 0, fmt.Errorf("%w: %v", errTaskUserData, err)
		}
	}
	return b[0], nil
}

func parseTaskLags(f []byte) (map[engine.TaskID]int64, error) {
	count, n := binary.Uvarint(f)
	// Each entry takes at least three bytes.
	if n <= 0 || count > uint64(len(f)-n)/3 {
		return nil, errors.New("bad count")
	}
	f = f[n:]
	lags := make(map[engine.TaskID]int64, count)
	for range count {
		st, n := binary.Uvarint(f)
		if n <= 0 || st > 1<<31-1 {
			return nil, errors.New("bad sub-topology")
		}
		f = f[n:]
		part, n := binary.Uvarint(f)
		if n <= 0 || part > 1<<31-1 {
			return nil, errors.New("bad partition")
		}
		f = f[n:]
		lag, n := binary.Varint(f)
		if n <= 0 {
			return nil, errors.New("bad lag")
		}
		f = f[n:]
		lags[engine.TaskID{Subtopology: int(st), Partition: int32(part)}] = lag
	}
	return lags, nil
}

func compareTaskIDs(x, y engine.TaskID) int {
	if c := cmp.Compare(x.Subtopology, y.Subtopology); c != 0 {
		return c
	}
	return cmp.Compare(x.Partition, y.Partition)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
