package strata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
)

// This file is the task balancer's use of processes and lags: where a task
// without an owner goes, and where standby replicas go.
//
// Members report their process (instance) and the lag of the task state they
// hold (assign.go). The members of one process share a state directory, so a
// process's lag for a task is the least any of its members reports.
//
// Standby replicas (Kafka Streams' num.standby.replicas) are planned after
// the active tasks: each stateful task (one with a persistent, logged store)
// gets up to standbyReplicas of them, each on a member of a different process,
// none on the process of the task's target member. A replica goes to a
// member whose process already holds the task's state, the least behind
// first, unless that member already has its fair share of replicas
// (ceil(replicas/members)); otherwise to the member with the fewest replicas,
// then the fewest tasks. A task has fewer replicas when there are too few
// other processes.
//
// A member's standby tasks travel in its assignment's user data (the
// consumer protocol's ConsumerMemberAssignment.UserData), in the framing of
// the member user data:
//
//	version:byte field*
//	tag 1, standby tasks: count:uvarint (subtopology:uvarint partition:uvarint)*, sorted
//	tag 2, shutdown (version 2): why the application stops, UTF-8: every
//	  member that receives it stops (UncaughtErrorAction StopApplication).
//	tag 3, instances (version 3): the map of the application's instances,
//	  their ApplicationServers and tasks (assign_hosts.go).
const assignmentUserDataVersion = 3

// Field tags of an assignment's user data.
const (
	assignmentFieldStandbys  = 1
	assignmentFieldShutdown  = 2
	assignmentFieldInstances = 3
)

// processLags knows each member's process and each process's lag for the
// tasks its members hold state of.
type processLags struct {
	// proc numbers each member's process, by member index.
	proc []int
	// lags maps, by process number, a task's number to the least lag a
	// member of the process reports for it.
	lags []map[int]int64
}

func newProcessLags(ts *taskSpace, members []taskMember) *processLags {
	l := &processLags{proc: make([]int, len(members))}
	byID := map[string]int{}
	for i, m := range members {
		// A member that reports no process is a process of its own;
		// the NUL keeps member IDs apart from process IDs.
		key := m.data.process
		if key == "" {
			key = "\x00" + m.join.MemberID
		}
		n, ok := byID[key]
		if !ok {
			n = len(l.lags)
			byID[key] = n
			l.lags = append(l.lags, map[int]int64{})
		}
		l.proc[i] = n
		for id, lag := range m.data.lags {
			k, ok := ts.index(id)
			if !ok || lag < 0 {
				continue
			}
			if old, ok := l.lags[n][k]; !ok || lag < old {
				l.lags[n][k] = lag
			}
		}
	}
	return l
}

// lag returns the lag of member i's process for task k, if known.
func (l *processLags) lag(k, i int) (int64, bool) {
	lag, ok := l.lags[l.proc[i]][k]
	return lag, ok
}

// compare orders members i and j as homes for task k: negative when i's
// process holds the task's state and j's does not, or holds it less behind;
// positive for the reverse; 0 when neither is better.
func (l *processLags) compare(k, i, j int) int {
	li, iok := l.lag(k, i)
	lj, jok := l.lag(k, j)
	switch {
	case iok && !jok:
		return -1
	case !iok && jok:
		return 1
	case iok && jok && li != lj:
		if li < lj {
			return -1
		}
		return 1
	}
	return 0
}

// placeStandbys plans the standby replicas of p's stateful tasks; see the
// top of this file. assignedTo is each task's target member; count, each
// member's number of target tasks.
func (b *taskBalancer) placeStandbys(p *taskPlan, ts *taskSpace, assignedTo, count []int, lag *processLags) {
	nm := len(p.standby)
	if b.standbyReplicas <= 0 || nm == 0 {
		return
	}
	var stateful []int
	for k := range ts.ids {
		if ts.stateful(k) {
			stateful = append(stateful, k)
		}
	}
	share := (len(stateful)*b.standbyReplicas + nm - 1) / nm
	replicas := make([]int, nm)
	// on[k] are the members holding task k's replicas.
	on := make(map[int][]int, len(stateful))
	for _, k := range stateful {
		for range b.standbyReplicas {
			best := -1
			for i := range nm {
				if !canHostStandby(k, i, assignedTo, on, lag) {
					continue
				}
				if best < 0 || betterStandby(k, i, best, replicas, count, share, lag) {
					best = i
				}
			}
			if best < 0 {
				p.standbyMissing++
				continue
			}
			on[k] = append(on[k], best)
			replicas[best]++
			p.standbyCount++
		}
	}
	evenStandbys(stateful, assignedTo, on, replicas, lag)
	for _, k := range stateful {
		for _, i := range on[k] {
			p.standby[i] = append(p.standby[i], ts.ids[k])
		}
	}
	for i := range p.standby {
		slices.SortFunc(p.standby[i], compareTaskIDs)
	}
}

// canHostStandby reports whether member i may hold a replica of task k: its
// process runs the task neither active nor as another replica.
func canHostStandby(k, i int, assignedTo []int, on map[int][]int, lag *processLags) bool {
	if lag.proc[i] == lag.proc[assignedTo[k]] {
		return false
	}
	return !slices.ContainsFunc(on[k], func(j int) bool { return lag.proc[j] == lag.proc[i] })
}

// evenStandbys evens out the replicas the greedy pass placed, which can
// leave a member with two more than another that could take one: it moves
// replicas from the most to the least loaded member that may hold them,
// replicas of state the member does not hold first, until no move makes
// the spread smaller.
func evenStandbys(stateful, assignedTo []int, on map[int][]int, replicas []int, lag *processLags) {
	for moved := true; moved; {
		moved = false
		order := make([]int, len(replicas))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return replicas[y] - replicas[x] })
	search:
		for _, from := range order {
			for _, to := range slices.Backward(order) {
				if replicas[from]-replicas[to] < 2 {
					continue
				}
				for _, warm := range []bool{false, true} {
					for _, k := range stateful {
						at := slices.Index(on[k], from)
						if at < 0 {
							continue
						}
						if _, ok := lag.lag(k, from); ok != warm {
							continue
						}
						on[k] = slices.Delete(on[k], at, at+1)
						if !canHostStandby(k, to, assignedTo, on, lag) {
							on[k] = slices.Insert(on[k], at, from)
							continue
						}
						on[k] = append(on[k], to)
						replicas[from]--
						replicas[to]++
						moved = true
						break search
					}
				}
			}
		}
	}
}

// betterStandby reports whether member i is a better place than member j for
// a standby replica of task k: a member holding the task's state with room
// in its share first, the least behind; then the fewest replicas, then the
// fewest tasks. Ties keep j, the earlier member.
func betterStandby(k, i, j int, replicas, count []int, share int, lag *processLags) bool {
	_, iok := lag.lag(k, i)
	_, jok := lag.lag(k, j)
	iwarm, jwarm := iok && replicas[i] < share, jok && replicas[j] < share
	if iwarm != jwarm {
		return iwarm
	}
	if iwarm {
		if c := lag.compare(k, i, j); c != 0 {
			return c < 0
		}
	}
	if replicas[i] != replicas[j] {
		return replicas[i] < replicas[j]
	}
	return count[i] < count[j]
}

// index returns the number of task id, if it exists for the partition
// counts.
func (ts *taskSpace) index(id engine.TaskID) (int, bool) {
	si, ok := ts.subIndex[id.Subtopology]
	if !ok || id.Partition < 0 || int(id.Partition) >= ts.first[si+1]-ts.first[si] {
		return 0, false
	}
	return ts.first[si] + int(id.Partition), true
}

// stateful reports whether task k has a persistent, logged store: state a
// standby replica can keep warm.
func (ts *taskSpace) stateful(k int) bool {
	return slices.ContainsFunc(ts.subs[ts.sub[k]].Stores, func(name string) bool {
		def := ts.top.Graph.Store(name)
		return def != nil && def.Logged && def.Persistent
	})
}

// standbyPlan is a balance plan whose members' assignments carry their
// standby tasks in their user data.
type standbyPlan struct {
	plan     *kgo.BalancePlan
	userData map[string][]byte // by member ID
}

// withStandbys adds each member's standby tasks to plan, the map of
// instances if it lists any, and, if shutdown is set, the reason the
// application stops.
func withStandbys(plan *kgo.BalancePlan, members []taskMember, standby [][]engine.TaskID, shutdown string, instances iq.Metadata) kgo.IntoSyncAssignment {
	sp := standbyPlan{plan: plan, userData: map[string][]byte{}}
	var field []byte
	if len(instances.Instances) > 0 {
		field = appendInstances(nil, instances)
	}
	for i, m := range members {
		if len(standby[i]) > 0 || shutdown != "" || field != nil {
			ud := appendAssignmentUserData(nil, standby[i])
			if shutdown != "" {
				ud = appendField(ud, assignmentFieldShutdown, []byte(shutdown))
			}
			if field != nil {
				ud = appendField(ud, assignmentFieldInstances, field)
			}
			sp.userData[m.join.MemberID] = ud
		}
	}
	return sp
}

// IntoSyncAssignment implements kgo.IntoSyncAssignment.
func (sp standbyPlan) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment {
	out := sp.plan.IntoSyncAssignment()
	for i := range out {
		ud, ok := sp.userData[out[i].MemberID]
		if !ok {
			continue
		}
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(out[i].MemberAssignment); err != nil {
			continue // kgo wrote it: cannot happen
		}
		a.UserData = ud
		out[i].MemberAssignment = a.AppendTo(nil)
	}
	return out
}

// appendAssignmentUserData appends the encoding of a member's standby tasks,
// which are sorted.
func appendAssignmentUserData(dst []byte, standbys []engine.TaskID) []byte {
	dst = append(dst, assignmentUserDataVersion)
	f := binary.AppendUvarint(nil, uint64(len(standbys)))
	for _, id := range standbys {
		f = binary.AppendUvarint(f, uint64(id.Subtopology))
		f = binary.AppendUvarint(f, uint64(id.Partition))
	}
	return appendField(dst, assignmentFieldStandbys, f)
}

// parseAssignmentShutdown returns the reason the application stops, from an
// assignment's user data; "" when it does not (or the data is unreadable).
func parseAssignmentShutdown(b []byte) string {
	var reason string
	parseFields(b, func(tag uint64, f []byte) error {
		if tag == assignmentFieldShutdown {
			reason = string(f)
		}
		return nil
	})
	return reason
}

// parseAssignmentUserData decodes a member's standby tasks. Empty user data
// (an assignment without standbys) is none.
func parseAssignmentUserData(b []byte) ([]engine.TaskID, error) {
	var standbys []engine.TaskID
	_, err := parseFields(b, func(tag uint64, f []byte) error {
		if tag != assignmentFieldStandbys {
			return nil
		}
		count, n := binary.Uvarint(f)
		// Each entry takes at least two bytes.
		if n <= 0 || count > uint64(len(f)-n)/2 {
			return errors.New("standby tasks: bad count")
		}
		f = f[n:]
		standbys = make([]engine.TaskID, 0, count)
		for range count {
			st, n := binary.Uvarint(f)
			if n <= 0 || st > 1<<31-1 {
				return errors.New("standby tasks: bad sub-topology")
			}
			f = f[n:]
			part, n := binary.Uvarint(f)
			if n <= 0 || part > 1<<31-1 {
				return errors.New("standby tasks: bad partition")
			}
			f = f[n:]
			standbys = append(standbys, engine.TaskID{Subtopology: int(st), Partition: int32(part)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("assignment user data: %w", err)
	}
	return standbys, nil
}
