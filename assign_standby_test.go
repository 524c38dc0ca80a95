package strata

import (
	"maps"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-go/strata/internal/engine"
)

// reporting returns user data in which a member reports its process and
// task lags.
func reporting(process string, lags map[engine.TaskID]int64) []byte {
	return appendTaskUserData(nil, taskUserData{process: process, lags: lags})
}

// standbyRound runs one balance with b planning replicas standby replicas,
// and returns each member's active tasks and standby tasks, both checked:
// the plan is safe and complete, no member gets standby and active of one
// task, and a task's replicas are on distinct processes other than its
// active's.
func standbyRound(t *testing.T, top *engine.Topology, counts map[string]int32, replicas int, members []fakeMember, process map[string]string) (map[string][]engine.TaskID, map[string][]engine.TaskID) {
	t.Helper()
	b := newTaskBalancer(top, nil).(*taskBalancer)
	b.standbyReplicas = replicas
	plan := assignment{}
	standbys := map[string][]engine.TaskID{}
	for _, sync := range syncRound(t, b, top, counts, members) {
		var got []engine.TaskID
		b.onStandbys = func(ids []engine.TaskID) { got = ids }
		parts, err := b.ParseSyncAssignment(sync.MemberAssignment)
		if err != nil {
			t.Fatal(err)
		}
		plan[sync.MemberID] = map[string][]int32{}
		for topic, ps := range parts {
			if len(ps) > 0 {
				plan[sync.MemberID][topic] = ps
			}
		}
		standbys[sync.MemberID] = got
	}
	checkSafe(t, top, counts, members, plan)
	active := checkComplete(t, top, counts, plan)
	activeOn := map[engine.TaskID]string{}
	for m, ids := range active {
		for _, id := range ids {
			activeOn[id] = m
		}
	}
	procs := map[engine.TaskID][]string{}
	for m, ids := range standbys {
		for _, id := range ids {
			if activeOn[id] == m {
				t.Fatalf("%s has task %s both active and standby", m, id)
			}
			if process[activeOn[id]] == process[m] {
				t.Fatalf("standby of %s on %s, of process %s, which runs it active on %s", id, m, process[m], activeOn[id])
			}
			if slices.Contains(procs[id], process[m]) {
				t.Fatalf("two standbys of %s on process %s", id, process[m])
			}
			procs[id] = append(procs[id], process[m])
		}
	}
	return active, standbys
}

// TestTaskBalancerStandbyPlacement: three processes of two workers each.
// Every stateful task gets its replicas, each on another process than its
// active's, spread evenly over the members; stateless tasks get none; with
// more replicas than other processes, a task gets one per other process.
func TestTaskBalancerStandbyPlacement(t *testing.T) {
	top := statefulTopology(t, []bool{true, false}, []string{"s"}, []string{"x"})
	counts := map[string]int32{"s": 6, "x": 6}
	process := map[string]string{"a0": "A", "a1": "A", "b0": "B", "b1": "B", "c0": "C", "c1": "C"}
	var members []fakeMember
	for _, id := range slices.Sorted(maps.Keys(process)) {
		members = append(members, fakeMember{id: id, gen: -1, userData: reporting(process[id], nil)})
	}
	for _, tc := range []struct{ replicas, perTask int }{{0, 0}, {1, 1}, {2, 2}, {3, 2}} {
		_, standbys := standbyRound(t, top, counts, tc.replicas, members, process)
		perTask := map[engine.TaskID]int{}
		for m, ids := range standbys {
			if want := tc.perTask; len(ids) != want {
				t.Errorf("%d replicas: %s has %d standbys %v, want %d", tc.replicas, m, len(ids), ids, want)
			}
			for _, id := range ids {
				if id.Subtopology != 0 {
					t.Errorf("%d replicas: standby of stateless task %s", tc.replicas, id)
				}
				perTask[id]++
			}
		}
		for p := range int32(6) {
			if n := perTask[tid(0, p)]; n != tc.perTask {
				t.Errorf("%d replicas: task 0_%d has %d standbys, want %d", tc.replicas, p, n, tc.perTask)
			}
		}
	}
}

// TestTaskBalancerStandbyStaysWarm: a standby replica goes to the process
// whose state of the task lags least, even when another member has less to
// do; a member without state gets the replicas left.
func TestTaskBalancerStandbyStaysWarm(t *testing.T) {
	top := statefulTopology(t, []bool{true}, []string{"s"})
	counts := map[string]int32{"s": 3}
	process := map[string]string{"a": "A", "b": "B", "c": "C"}
	owns := func(p int32) map[string][]int32 { return map[string][]int32{"s": {p}} }
	members := []fakeMember{
		{id: "a", gen: 3, owned: owns(0), userData: reporting("A", map[engine.TaskID]int64{tid(0, 0): 0})},
		{id: "b", gen: 3, owned: owns(1), userData: reporting("B", map[engine.TaskID]int64{tid(0, 1): 0})},
		// c's copy of 0_0 is 7 behind; it runs 0_2.
		{id: "c", gen: 3, owned: owns(2), userData: reporting("C", map[engine.TaskID]int64{tid(0, 2): 0, tid(0, 0): 7})},
	}
	_, standbys := standbyRound(t, top, counts, 1, members, process)
	if !slices.Contains(standbys["c"], tid(0, 0)) {
		t.Errorf("standbys %v: the standby of 0_0 should stay on c, which has its state", standbys)
	}
	for m, ids := range standbys {
		if len(ids) != 1 {
			t.Errorf("standbys %v: %s has %d, want 1 each", standbys, m, len(ids))
		}
	}
}

// TestTaskBalancerLagPreference: a task without an owner goes to a member of
// the process whose state of it lags least; a process's lag is the least of
// its members'.
func TestTaskBalancerLagPreference(t *testing.T) {
	top := statefulTopology(t, []bool{true}, []string{"s"})
	counts := map[string]int32{"s": 4}
	process := map[string]string{"a": "A", "b0": "B", "b1": "B", "c": "C"}
	owns := func(ps ...int32) map[string][]int32 { return map[string][]int32{"s": ps} }
	for _, tc := range []struct {
		name string
		lags map[string]map[engine.TaskID]int64
		want string // the process that gets 0_0
	}{
		{"c is closer", map[string]map[engine.TaskID]int64{"b0": {tid(0, 0): 50}, "c": {tid(0, 0): 3}}, "C"},
		{"b is closer", map[string]map[engine.TaskID]int64{"b0": {tid(0, 0): 3}, "c": {tid(0, 0): 50}}, "B"},
		{"b1 reports for its process", map[string]map[engine.TaskID]int64{"b1": {tid(0, 0): 0}, "c": {tid(0, 0): 1}}, "B"},
		{"unknown lag is no state", map[string]map[engine.TaskID]int64{"b0": {tid(0, 0): -1}, "c": {tid(0, 0): 1000}}, "C"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// a, which ran 0_0 and 0_1, has left; b0, b1 and c
			// run one task each.
			members := []fakeMember{
				{id: "b0", gen: 5, owned: owns(1), userData: reporting("B", tc.lags["b0"])},
				{id: "b1", gen: 5, owned: owns(2), userData: reporting("B", tc.lags["b1"])},
				{id: "c", gen: 5, owned: owns(3), userData: reporting("C", tc.lags["c"])},
			}
			active, _ := standbyRound(t, top, counts, 0, members, process)
			got := ""
			for m, ids := range active {
				if slices.Contains(ids, tid(0, 0)) {
					got = process[m]
				}
			}
			if got != tc.want {
				t.Errorf("0_0 went to process %q (%v), want %q", got, active, tc.want)
			}
		})
	}
}

func TestTaskBalancerProcessUserData(t *testing.T) {
	lags := map[engine.TaskID]int64{tid(0, 1): 4}
	enc := appendTaskUserData(nil, taskUserData{process: "host-1", lags: lags})
	d, err := parseTaskUserData(enc)
	if err != nil || d.version != taskUserDataVersion || d.process != "host-1" || !maps.Equal(d.lags, lags) {
		t.Fatalf("round trip: %+v, %v", d, err)
	}
	// Version 1 user data, as older members send it: lags, no process.
	v1 := append([]byte{1}, enc[1:len(enc)-len("host-1")-2]...)
	if d, err := parseTaskUserData(v1); err != nil || d.version != 1 || d.process != "" || !maps.Equal(d.lags, lags) {
		t.Errorf("version 1: %+v, %v", d, err)
	}
	// The hook: JoinGroupMetadata sends the balancer's process.
	b := newTaskBalancer(assignTopology(t, []string{"x"}), nil).(*taskBalancer)
	b.process = "host-2"
	var meta kmsg.ConsumerMemberMetadata
	if err := meta.ReadFrom(b.JoinGroupMetadata([]string{"x"}, nil, -1)); err != nil {
		t.Fatal(err)
	}
	if d, err := parseTaskUserData(meta.UserData); err != nil || d.process != "host-2" {
		t.Errorf("metadata user data: %+v, %v", d, err)
	}
}

func TestTaskBalancerAssignmentUserData(t *testing.T) {
	standbys := []engine.TaskID{tid(0, 1), tid(2, 7)}
	got, err := parseAssignmentUserData(appendAssignmentUserData(nil, standbys))
	if err != nil || !slices.Equal(got, standbys) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	if got, err := parseAssignmentUserData(nil); err != nil || got != nil {
		t.Errorf("no user data: %v, %v", got, err)
	}
	for name, b := range map[string][]byte{
		"huge count":      {1, assignmentFieldStandbys, 2, 0xff, 0x7f},
		"truncated entry": {1, assignmentFieldStandbys, 2, 1, 0},
		"bad framing":     {1, 0x80},
	} {
		if got, err := parseAssignmentUserData(b); err == nil {
			t.Errorf("%s: parsed %v", name, got)
		}
	}
	// An assignment with unreadable user data still assigns its
	// partitions, without standbys.
	var a kmsg.ConsumerMemberAssignment
	topic := kmsg.NewConsumerMemberAssignmentTopic()
	topic.Topic, topic.Partitions = "x", []int32{3}
	a.Topics = append(a.Topics, topic)
	a.UserData = []byte{1, 0x80}
	b := newTaskBalancer(assignTopology(t, []string{"x"}), nil).(*taskBalancer)
	called := false
	b.onStandbys = func(ids []engine.TaskID) { called = len(ids) == 0 }
	parts, err := b.ParseSyncAssignment(a.AppendTo(nil))
	if err != nil || !slices.Equal(parts["x"], []int32{3}) || !called {
		t.Errorf("ParseSyncAssignment: %v, %v; onStandbys called with none: %v", parts, err, called)
	}
}

// TestTaskBalancerShutdown checks how the application is stopped through the
// group (StopApplication): a member that reports a shutdown reason makes the
// leader assign no task and send the reason to every member, whose
// ParseSyncAssignment hands it on.
func TestTaskBalancerShutdown(t *testing.T) {
	top := assignTopology(t, []string{"a"})
	counts := map[string]int32{"a": 4}
	enc := appendTaskUserData(nil, taskUserData{process: "p1", shutdown: "instance p1: boom"})
	if d, err := parseTaskUserData(enc); err != nil || d.shutdown != "instance p1: boom" || d.process != "p1" {
		t.Fatalf("round trip: %+v, %v", d, err)
	}
	members := []fakeMember{
		{id: "m1", owned: map[string][]int32{"a": {0, 1}}, userData: enc},
		{id: "m2", owned: map[string][]int32{"a": {2, 3}}, userData: reporting("p2", nil)},
	}
	b := newTaskBalancer(top, nil).(*taskBalancer)
	var told []string
	b.onShutdown = func(reason string) { told = append(told, reason) }
	for _, sync := range syncRound(t, b, top, counts, members) {
		parts, err := b.ParseSyncAssignment(sync.MemberAssignment)
		if err != nil {
			t.Fatal(err)
		}
		for topic, ps := range parts {
			if len(ps) > 0 {
				t.Errorf("member %s assigned %s%v while the application stops", sync.MemberID, topic, ps)
			}
		}
	}
	if !slices.Equal(told, []string{"instance p1: boom", "instance p1: boom"}) {
		t.Errorf("members were told %q, want the reason twice", told)
	}
	// Without a reason, nobody is told.
	members[0].userData = reporting("p1", nil)
	told = nil
	for _, sync := range syncRound(t, b, top, counts, members) {
		if _, err := b.ParseSyncAssignment(sync.MemberAssignment); err != nil {
			t.Fatal(err)
		}
	}
	if told != nil {
		t.Errorf("members were told %q with no member asking", told)
	}
}
