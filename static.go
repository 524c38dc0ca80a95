package strata

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// With Config.InstanceID set, each worker is a static member of the
// consumer group (KIP-345): its client sends a group instance ID (Kafka's
// group.instance.id), InstanceID for worker 0 and "<InstanceID>-<i>" for
// worker i, the same on every start. (The default InstanceID, derived from
// the host name, is not stable where hosts come and go, and stateless
// instances on one host may share it: with it, workers are dynamic
// members, which leave the group as their clients close.) A static member that
// stops stays in the group until its session times out, and a restart
// within that time takes its place and its assignment without waiting for
// the session to expire; where the coordinator sees no change (Kafka's,
// while the group is stable) the restart costs no rebalance at all.
//
// franz-go sends no LeaveGroup for a static member when its client closes.
// leaveGroup sends one, by instance ID, where the member must go at once:
// under Config.LeaveGroupOnStop; in the test crash hook; and on a stop
// during a rebalance (leaveOnStop). A rebalance waits for every member the
// group knows: a static member that stopped without leaving would hold it
// up until its session timed out, and with it every other member, the
// instance's other workers included, whose client cannot even close
// meanwhile (franz-go lets a JoinGroup in flight finish).

// leaveTimeout bounds the requests of a stopping static member.
const leaveTimeout = 5 * time.Second

// isStatic reports whether the app's workers are static group members.
func (r *runner) isStatic() bool { return !r.cfg.instanceIDDefault }

// staticMember returns the group client's option of a static member, or
// none.
func (r *runner) staticMember() []kgo.Opt {
	if !r.isStatic() {
		return nil
	}
	return []kgo.Opt{kgo.InstanceID(groupInstanceID(r.cfg, r.index))}
}

// groupInstanceID is worker index's group instance ID: InstanceID for
// worker 0, so that adding workers does not change it, "<InstanceID>-<i>"
// for worker i > 0, as transactionalID numbers them.
func groupInstanceID(cfg *Config, index int) string {
	if index == 0 {
		return cfg.InstanceID
	}
	return cfg.InstanceID + "-" + strconv.Itoa(index)
}

// joinPending marks the worker as waiting for an assignment: its client
// is new, or it revoked or lost partitions and rejoins. The instance counts
// such workers.
func (r *runner) joinPending() {
	if r.joining.CompareAndSwap(false, true) {
		r.inst.joining.Add(1)
	}
}

// joinDone marks the worker as assigned.
func (r *runner) joinDone() {
	if r.joining.CompareAndSwap(true, false) {
		r.inst.joining.Add(-1)
	}
}

// The group client's callbacks, which track joins around the worker's own
// (tasks.go). Callbacks of a stopping worker's client are not joins.

func (r *runner) assigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	r.onAssigned(ctx, cl, assigned)
	r.joinDone()
}

func (r *runner) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	if !r.isStopped() {
		r.joinPending()
	}
	r.onRevoked(ctx, cl, revoked)
}

func (r *runner) lost(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	if !r.isStopped() {
		r.joinPending()
	}
	r.onLost(ctx, cl, lost)
}

func (r *runner) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// leaveOnStop reports whether the worker's static member should leave the
// group as Run returns: under Config.LeaveGroupOnStop, and during a
// rebalance, which would otherwise wait for the member's session to time
// out: while a worker of this instance waits for an assignment, or while
// the coordinator says the group is rebalancing; and when the application
// stops (StopApplication), whose asking instance waits for the others to
// leave (awaitOthersLeft). A failed lookup of the
// group's state counts as stable: the member stays, as it would anyway.
func (r *runner) leaveOnStop() bool {
	if !r.isStatic() {
		return false // the client leaves as it closes
	}
	if r.cfg.LeaveGroupOnStop || r.inst.joining.Load() > 0 {
		return true
	}
	if r.inst.stop.stopped() != nil {
		// The application stops (StopApplication): the instance that
		// asked waits for this member to leave (awaitOthersLeft).
		return true
	}
	ctx, cancel := context.WithTimeout(r.produceCtx, leaveTimeout)
	defer cancel()
	described, err := r.adm.DescribeGroups(ctx, r.cfg.ApplicationID)
	if err == nil {
		err = described.Error()
	}
	if err != nil {
		r.log.Warn("look up the group's state", "err", err)
		return false
	}
	state := described[r.cfg.ApplicationID].State
	if state == "PreparingRebalance" || state == "CompletingRebalance" {
		r.log.Info("leaving the group: it is rebalancing", "state", state)
		return true
	}
	return false
}

// leaveGroup makes the worker's static member leave the group, after its
// group client closed: the group rebalances at once and the member's tasks
// go to the others. It uses the worker's restore client, not yet closed. A
// failure is logged: the member then leaves when its session times out.
func (r *runner) leaveGroup() {
	if r.restoreClient == nil || !r.isStatic() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	id := groupInstanceID(r.cfg, r.index)
	resp, err := r.adm.LeaveGroup(ctx, kadm.LeaveGroup(r.cfg.ApplicationID).InstanceIDs(id).Reason("strata: leaving on stop"))
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		r.log.Warn("leave the group; the member leaves when its session times out", "instance_id", id, "err", err)
		return
	}
	r.log.Info("left the group", "instance_id", id)
}
