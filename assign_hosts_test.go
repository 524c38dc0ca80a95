package strata

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
)

// serving returns user data in which a member reports its process and
// ApplicationServer.
func serving(process, server string) []byte {
	return appendTaskUserData(nil, taskUserData{process: process, server: server})
}

// instanceRound runs one balance and returns each member's partitions, its
// standby tasks, and the instance map each received.
func instanceRound(t *testing.T, b *taskBalancer, top *engine.Topology, counts map[string]int32, members []fakeMember) (assignment, map[string][]engine.TaskID, map[string]iq.Metadata) {
	t.Helper()
	plan, standbys, maps := assignment{}, map[string][]engine.TaskID{}, map[string]iq.Metadata{}
	for _, sync := range syncRound(t, b, top, counts, members) {
		b.onStandbys = func(ids []engine.TaskID) { standbys[sync.MemberID] = ids }
		b.onInstances = func(md iq.Metadata) { maps[sync.MemberID] = md }
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
	}
	return plan, standbys, maps
}

// TestTaskBalancerInstanceMap checks the map of instances the leader sends:
// every member gets the same one, listing each process once, with the
// server one of its members reported and the tasks its members run and
// keep standbys of, as assigned.
func TestTaskBalancerInstanceMap(t *testing.T) {
	top := statefulTopology(t, []bool{true, false}, []string{"s"}, []string{"x"})
	counts := map[string]int32{"s": 4, "x": 2}
	process := map[string]string{"a0": "A", "a1": "A", "b0": "B", "c0": "C"}
	server := map[string]string{"A": "a.example:8080", "B": "b.example:8080", "C": ""}
	var members []fakeMember
	for _, id := range slices.Sorted(maps.Keys(process)) {
		members = append(members, fakeMember{id: id, gen: -1, userData: serving(process[id], server[process[id]])})
	}
	b := newTaskBalancer(top, nil).(*taskBalancer)
	b.standbyReplicas = 1
	plan, standbys, got := instanceRound(t, b, top, counts, members)
	active := checkComplete(t, top, counts, plan)
	if len(got) != len(members) {
		t.Fatalf("%d of %d members got an instance map", len(got), len(members))
	}
	first := got["a0"]
	for m, md := range got {
		if !reflect.DeepEqual(md, first) {
			t.Errorf("%s got another map than a0:\n%+v\n%+v", m, md, first)
		}
	}
	want := iq.Metadata{Generation: first.Generation, Self: -1}
	for _, p := range []string{"A", "B", "C"} {
		in := iq.Instance{ID: p, Server: server[p]}
		for m, proc := range process {
			if proc == p {
				in.Active = append(in.Active, active[m]...)
				in.Standby = append(in.Standby, standbys[m]...)
			}
		}
		slices.SortFunc(in.Active, compareTaskIDs)
		slices.SortFunc(in.Standby, compareTaskIDs)
		want.Instances = append(want.Instances, in)
	}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("instance map\n got %+v\nwant %+v", first, want)
	}
	var standbyCount int
	for _, in := range first.Instances {
		standbyCount += len(in.Standby)
	}
	if standbyCount != 4 {
		t.Errorf("the map lists %d standby tasks, want one per stateful task", standbyCount)
	}
}

// TestTaskBalancerInstanceMapDeferred checks that a task held back while
// its owner revokes it is listed nowhere: no instance runs it this
// generation.
func TestTaskBalancerInstanceMapDeferred(t *testing.T) {
	top := assignTopology(t, []string{"x"})
	counts := map[string]int32{"x": 4}
	members := []fakeMember{
		{id: "m1", gen: 3, owned: map[string][]int32{"x": {0, 1, 2, 3}}, userData: serving("P1", "p1:1")},
		{id: "m2", gen: -1, userData: serving("P2", "p2:1")},
	}
	b := newTaskBalancer(top, nil).(*taskBalancer)
	plan, _, got := instanceRound(t, b, top, counts, members)
	md := got["m2"]
	if len(md.Instances) != 2 {
		t.Fatalf("map %+v", md)
	}
	if n := len(md.Instances[0].Active) + len(md.Instances[1].Active); n != 2 || len(plan["m2"]) != 0 {
		t.Errorf("plan %v, map %+v: want two tasks kept by m1, two held back and listed nowhere", plan, md)
	}
}

func TestTaskBalancerInstanceMapEncoding(t *testing.T) {
	md := iq.Metadata{Generation: 7, Self: -1, Instances: []iq.Instance{
		{ID: "a", Server: "host-a:1", Active: []engine.TaskID{tid(0, 1), tid(2, 3)}, Standby: []engine.TaskID{tid(0, 0)}},
		{ID: "b"},
	}}
	ud := appendField(appendAssignmentUserData(nil, nil), assignmentFieldInstances, appendInstances(nil, md))
	back, ok, err := parseAssignmentInstances(ud)
	if err != nil || !ok || !reflect.DeepEqual(back, md) {
		t.Fatalf("round trip: %+v, %v, %v", back, ok, err)
	}
	if _, ok, err := parseAssignmentInstances(appendAssignmentUserData(nil, nil)); ok || err != nil {
		t.Errorf("no map: %v, %v", ok, err)
	}
	enc := appendInstances(nil, md)
	for n := range len(enc) {
		if _, err := parseInstances(enc[:n]); err == nil {
			t.Errorf("%d of %d bytes parsed", n, len(enc))
		}
	}
	if _, err := parseInstances(append(enc, 0)); err == nil {
		t.Error("trailing byte parsed")
	}
	if _, err := parseInstances([]byte{0, 0xff, 0xff, 0x7f}); err == nil {
		t.Error("huge count parsed")
	}
	// An unreadable map is ignored: the partitions still hold.
	var a kmsg.ConsumerMemberAssignment
	topic := kmsg.NewConsumerMemberAssignmentTopic()
	topic.Topic, topic.Partitions = "x", []int32{1}
	a.Topics = append(a.Topics, topic)
	a.UserData = appendField(appendAssignmentUserData(nil, nil), assignmentFieldInstances, enc[:3])
	b := newTaskBalancer(assignTopology(t, []string{"x"}), nil).(*taskBalancer)
	b.onInstances = func(iq.Metadata) { t.Error("an unreadable map was handed on") }
	if parts, err := b.ParseSyncAssignment(a.AppendTo(nil)); err != nil || !slices.Equal(parts["x"], []int32{1}) {
		t.Errorf("ParseSyncAssignment: %v, %v", parts, err)
	}
}

func TestTaskBalancerServerUserData(t *testing.T) {
	enc := appendTaskUserData(nil, taskUserData{process: "p", server: "h:9"})
	if enc[0] != 4 {
		t.Errorf("version %d, want 4", enc[0])
	}
	if d, err := parseTaskUserData(enc); err != nil || d.server != "h:9" || d.process != "p" {
		t.Fatalf("round trip: %+v, %v", d, err)
	}
	// Version 3 user data, as older members send it: no server.
	v3 := append([]byte{3}, appendTaskUserData(nil, taskUserData{process: "p"})[1:]...)
	if d, err := parseTaskUserData(v3); err != nil || d.server != "" || d.process != "p" || d.version != 3 {
		t.Errorf("version 3: %+v, %v", d, err)
	}
	b := newTaskBalancer(assignTopology(t, []string{"x"}), nil).(*taskBalancer)
	b.process, b.server = "p", "h:10"
	var meta kmsg.ConsumerMemberMetadata
	if err := meta.ReadFrom(b.JoinGroupMetadata([]string{"x"}, nil, -1)); err != nil {
		t.Fatal(err)
	}
	if d, err := parseTaskUserData(meta.UserData); err != nil || d.server != "h:10" {
		t.Errorf("metadata user data: %+v, %v", d, err)
	}
}
