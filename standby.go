package strata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
)

// Standby replicas (Kafka Streams' standby tasks). The balancer gives a
// worker standby tasks in its assignment's user data (assign_standby.go); the
// worker keeps their persistent stores warm by tailing their changelogs,
// read_committed, with a consumer outside the group. The poll loop applies
// what it fetched after each round of processing. When a standby task is
// dropped, or becomes active, it is closed with a checkpoint of the offsets
// it applied, so that the active task restores only the changelog's tail.
//
// Standby tasks hold their task's state directory as active tasks do: a
// worker opens one only when no other worker of the instance holds the
// directory, and retries from its poll loop while one does.

// standbyState is a worker's standby tasks.
type standbyState struct {
	// client tails the standby tasks' changelogs; nil when the topology
	// has no persistent store.
	client *kgo.Client
	// mu guards want, set by the balancer when an assignment arrives.
	mu   sync.Mutex
	want []engine.TaskID
	// The poll loop and the rebalance callbacks use the fields below
	// with the runner's mu held.
	tasks map[engine.TaskID]*standbyTask
	// pending are wanted standby tasks whose directory another worker of
	// the instance still holds.
	pending []engine.TaskID
	// subOf maps each persistent changelog topic to its sub-topology.
	subOf map[string]int

	// lagMu guards positions: what the worker's lags report, read by the
	// balancer while the worker joins the group. A nil map marks an
	// active task, whose state is current.
	lagMu     sync.Mutex
	positions map[engine.TaskID]map[string]int64
}

// standbyTask is one standby replica.
type standbyTask struct {
	task *engine.Task
	// stores by changelog topic.
	stores map[string]*standbyStore
}

// standbyStore is one store of a standby task and its changelog position.
type standbyStore struct {
	store engine.Store
	// next is the changelog offset to apply next.
	next    int64
	pending []*kgo.Record
	// end is the changelog's last stable offset as last fetched, -1
	// until known: queries read a standby within a bound of end - next.
	end int64
}

// initStandbys prepares the worker for standby tasks; opts are the options
// of a read_committed client that keeps transaction markers.
func (r *runner) initStandbys(opts []kgo.Opt) error {
	sb := &r.standby
	sb.tasks = map[engine.TaskID]*standbyTask{}
	sb.positions = map[engine.TaskID]map[string]int64{}
	sb.subOf = map[string]int{}
	if r.state == nil {
		return nil
	}
	for _, st := range r.app.top.Subtopologies {
		for _, topic := range persistentChangelogs(r, st) {
			sb.subOf[topic] = st.ID
		}
	}
	var err error
	if sb.client, err = kgo.NewClient(opts...); err != nil {
		return fmt.Errorf("strata: create standby client: %w", err)
	}
	return nil
}

// persistentChangelogs lists the changelogs of st's persistent logged
// stores: the state a standby keeps and a checkpoint records.
func persistentChangelogs(r *runner, st *engine.Subtopology) []string {
	var topics []string
	for _, name := range st.Stores {
		if def := r.app.top.Graph.Store(name); def.Logged && def.Persistent {
			topics = append(topics, engine.ChangelogTopic(r.cfg.ApplicationID, name))
		}
	}
	return topics
}

// setStandbys is the balancer's hook: ids are the standby tasks of the
// assignment that just arrived. onAssigned applies them.
func (r *runner) setStandbys(ids []engine.TaskID) {
	r.standby.mu.Lock()
	r.standby.want = ids
	r.standby.mu.Unlock()
}

// syncStandbys closes the standby tasks no longer wanted, with a
// checkpoint, and opens the new ones, before onAssigned opens active tasks:
// a standby task that becomes active here is closed first. Called with mu
// held.
func (r *runner) syncStandbys() {
	sb := &r.standby
	sb.mu.Lock()
	want := slices.Clone(sb.want)
	sb.mu.Unlock()
	if sb.client == nil {
		if len(want) > 0 {
			r.log.Warn("standby tasks assigned, but the topology has no persistent store: ignored", "standbys", len(want))
		}
		return
	}
	for id := range sb.tasks {
		if !slices.Contains(want, id) {
			if err := r.closeStandby(id, true); err != nil {
				r.log.Error("close standby task", "task", id.String(), "err", err)
			}
		}
	}
	sb.pending = sb.pending[:0]
	for _, id := range want {
		if _, ok := sb.tasks[id]; !ok && r.tasks[id] == nil {
			sb.pending = append(sb.pending, id)
		}
	}
	r.openPendingStandbys()
	if len(want) > 0 {
		r.log.Info("standby tasks assigned", "standbys", len(sb.tasks), "waiting", len(sb.pending))
	}
}

// openPendingStandbys opens the pending standby tasks whose directories are
// free. A failure is logged; the task stays without a standby. Called with
// mu held.
func (r *runner) openPendingStandbys() {
	sb := &r.standby
	var waiting []engine.TaskID
	for _, id := range sb.pending {
		if r.tasks[id] != nil {
			continue // active here since: no standby
		}
		if !r.inst.dirs.tryLock(id) {
			waiting = append(waiting, id)
			continue
		}
		if err := r.openStandby(id); err != nil {
			r.inst.dirs.unlock(id)
			r.log.Error("open standby task", "task", id.String(), "err", err)
		}
	}
	sb.pending = waiting
}

// openStandby opens standby task id, whose directory this worker holds, and
// starts tailing its changelogs from its checkpoint. Local state that cannot
// be trusted (corrupt.go) is wiped first: the standby starts from the
// beginning.
func (r *runner) openStandby(id engine.TaskID) error {
	t, err := r.newTask(id, nil)
	if err != nil {
		return err
	}
	checkpoint, err := r.openState(t)
	if errors.Is(err, errUntrusted) {
		if err = r.app.wipeUntrusted(r.taskLog(t).With("standby", true), t, err); err == nil {
			if t, err = r.newTask(id, nil); err != nil {
				return err
			}
			checkpoint, err = map[string]int64{}, t.InitStores()
		}
	}
	if err != nil {
		return errors.Join(err, t.Close())
	}
	st := &standbyTask{task: t, stores: map[string]*standbyStore{}}
	offsets := map[string]map[int32]kgo.Offset{}
	positions := map[string]int64{}
	for _, s := range t.Stores() {
		def := r.app.top.Graph.Store(s.Name())
		if !def.Logged || !def.Persistent {
			continue
		}
		topic := t.Changelog(s.Name())
		next := checkpoint[topic]
		st.stores[topic] = &standbyStore{store: s, next: next, end: -1}
		offsets[topic] = map[int32]kgo.Offset{id.Partition: kgo.NewOffset().At(next)}
		positions[topic] = next
	}
	r.standby.tasks[id] = st
	r.inst.queries.task(id, r, true, true)
	r.app.tel.opened(r.index, t, taskStandby)
	r.standby.client.AddConsumePartitions(offsets)
	r.setPositions(id, positions)
	r.log.Info("standby task opened", "task", id.String(), "from", positions)
	return nil
}

// closeStandby closes standby task id. With clean set it first makes its
// state durable and checkpoints the offsets applied. Called with mu held.
func (r *runner) closeStandby(id engine.TaskID, clean bool) error {
	sb := &r.standby
	st := sb.tasks[id]
	delete(sb.tasks, id)
	r.inst.queries.task(id, r, true, false)
	parts := map[string][]int32{}
	offsets := map[string]int64{}
	for topic, s := range st.stores {
		parts[topic] = []int32{id.Partition}
		offsets[topic] = s.next
	}
	sb.client.RemoveConsumePartitions(parts)
	var err error
	if clean {
		err = checkpointState(st.task, offsets)
	}
	err = errors.Join(err, r.closeTask(st.task))
	r.inst.dirs.unlock(id)
	r.app.tel.closed(r.index, id)
	r.setPositions(id, nil)
	if err != nil {
		return fmt.Errorf("strata: close standby task %s: %w", id, err)
	}
	r.log.Info("standby task closed", "task", id.String(), "checkpoint", clean, "at", offsets)
	return nil
}

// closeStandbys closes every standby task. Called with mu held.
func (r *runner) closeStandbys(clean bool) error {
	var errs []error
	for id := range r.standby.tasks {
		errs = append(errs, r.closeStandby(id, clean))
	}
	r.standby.pending = nil
	return errors.Join(errs...)
}

// updateStandbys applies the changelog records fetched for standby tasks
// since the last call, without waiting for more, and opens the standby
// tasks whose directories were busy. Called by the poll loop with mu held.
func (r *runner) updateStandbys(ctx context.Context) error {
	sb := &r.standby
	if len(sb.pending) > 0 {
		r.openPendingStandbys()
	}
	if len(sb.tasks) == 0 {
		return nil
	}
	// A nil context only drains what is buffered.
	fetches := sb.client.PollRecords(nil, r.cfg.MaxPollRecords)
	fetches.EachError(func(topic string, p int32, err error) {
		r.log.Warn("standby: fetch changelog", "topic", topic, "partition", p, "err", err)
	})
	var err error
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if err != nil {
			return
		}
		id := engine.TaskID{Subtopology: sb.subOf[fp.Topic], Partition: fp.Partition}
		st := sb.tasks[id]
		if st == nil || st.stores[fp.Topic] == nil {
			return // dropped since the fetch
		}
		s := st.stores[fp.Topic]
		if fp.Err == nil {
			s.end = fp.LastStableOffset
		}
		if len(fp.Records) == 0 {
			return
		}
		for _, rec := range fp.Records {
			if rec.Offset < s.next {
				continue
			}
			s.next = rec.Offset + 1
			if !rec.Attrs.IsControl() {
				s.pending = append(s.pending, rec)
			}
		}
		if len(s.pending) > 0 {
			if err = s.store.Restore(s.pending); err != nil {
				err = fmt.Errorf("strata: standby task %s: store %q: %w", id, s.store.Name(), err)
				return
			}
			r.app.metrics.standby.Add(int64(len(s.pending)))
			clear(s.pending)
			s.pending = s.pending[:0]
		}
		r.setPosition(id, fp.Topic, s.next)
		statsOf(st.task).store(s.store.Name(), fp.Topic).remaining.Store(max(fp.LastStableOffset-s.next, 0))
		if r.log.Enabled(ctx, slog.LevelDebug) {
			r.log.Debug("standby task updated", "task", id.String(), "changelog", fp.Topic, "next", s.next, "lag", max(fp.LastStableOffset-s.next, 0))
		}
	})
	return err
}

// setPositions records the changelog positions of task id's local state for
// the lags the worker reports: nil marks an active task, and no map at all
// (after close) leaves the task to its checkpoint on disk.
func (r *runner) setPositions(id engine.TaskID, positions map[string]int64) {
	sb := &r.standby
	sb.lagMu.Lock()
	defer sb.lagMu.Unlock()
	if positions == nil {
		delete(sb.positions, id)
		return
	}
	sb.positions[id] = positions
}

// setActive marks task id as active on this worker, or no longer.
func (r *runner) setActive(id engine.TaskID, active bool) {
	r.inst.queries.task(id, r, false, active)
	sb := &r.standby
	sb.lagMu.Lock()
	defer sb.lagMu.Unlock()
	if active {
		sb.positions[id] = nil
	} else if p, ok := sb.positions[id]; ok && p == nil {
		delete(sb.positions, id)
	}
}

func (r *runner) setPosition(id engine.TaskID, topic string, next int64) {
	sb := &r.standby
	sb.lagMu.Lock()
	defer sb.lagMu.Unlock()
	if p := sb.positions[id]; p != nil {
		p[topic] = next
	}
}

// lagTimeout bounds the end-offset lookup of localLags, which runs while
// the worker joins the group.
const lagTimeout = 2 * time.Second

// localLags is the balancer's lags hook: for each stateful task this
// instance has state of, how many changelog records that state is behind.
// Active tasks of this worker are current (0); standby tasks are as far as
// they have applied; other task directories as far as their checkpoints
// say. A lag that cannot be computed is -1, unknown.
func (r *runner) localLags() map[engine.TaskID]int64 {
	positions := r.checkpointsOnDisk()
	r.standby.lagMu.Lock()
	for id, p := range r.standby.positions {
		positions[id] = maps.Clone(p)
	}
	r.standby.lagMu.Unlock()
	if len(positions) == 0 {
		return nil
	}
	var topics []string
	for id, p := range positions {
		if p == nil {
			continue
		}
		for _, topic := range persistentChangelogs(r, r.app.top.Subtopologies[id.Subtopology]) {
			if !slices.Contains(topics, topic) {
				topics = append(topics, topic)
			}
		}
	}
	var ends map[string]map[int32]int64
	if len(topics) > 0 {
		ctx, cancel := context.WithTimeout(r.produceCtx, lagTimeout)
		var listed kadm.ListedOffsets
		// A changelog created moments ago may be missing from the
		// client's metadata at first (see untilKnown).
		err := untilKnown(ctx, func() (string, error) {
			var err error
			if listed, err = r.adm.ListEndOffsets(ctx, topics...); err != nil {
				return "", err
			}
			for _, topic := range topics {
				ps, ok := listed[topic]
				if !ok {
					return topic, nil
				}
				for _, lo := range ps {
					if errors.Is(lo.Err, kerr.UnknownTopicOrPartition) {
						return topic, nil
					}
				}
			}
			return "", nil
		})
		cancel()
		if err != nil {
			r.log.Warn("list changelog end offsets for task lags", "err", err)
		}
		ends = map[string]map[int32]int64{}
		for topic, ps := range listed {
			for p, lo := range ps {
				if lo.Err == nil {
					if ends[topic] == nil {
						ends[topic] = map[int32]int64{}
					}
					ends[topic][p] = lo.Offset
				}
			}
		}
	}
	lags := make(map[engine.TaskID]int64, len(positions))
	for id, p := range positions {
		changelogs := persistentChangelogs(r, r.app.top.Subtopologies[id.Subtopology])
		switch {
		case len(changelogs) == 0:
			continue // stateless: no state to be behind on
		case p == nil:
			lags[id] = 0
			continue
		}
		var lag int64
		for _, topic := range changelogs {
			end, ok := ends[topic][id.Partition]
			if !ok {
				lag = -1
				break
			}
			lag += max(end-p[topic], 0)
		}
		lags[id] = lag
	}
	return lags
}

// checkpointsOnDisk reads the checkpoints of the stateful tasks' directories
// in the instance's state directory.
func (r *runner) checkpointsOnDisk() map[engine.TaskID]map[string]int64 {
	out := map[engine.TaskID]map[string]int64{}
	if r.state == nil {
		return out
	}
	entries, err := os.ReadDir(r.state.path)
	if err != nil {
		return out
	}
	for _, e := range entries {
		id, ok := parseTaskDir(e.Name())
		if !e.IsDir() || !ok || id.Subtopology >= len(r.app.top.Subtopologies) {
			continue
		}
		if len(persistentChangelogs(r, r.app.top.Subtopologies[id.Subtopology])) == 0 {
			continue
		}
		cp, err := readCheckpoint(filepath.Join(r.state.path, e.Name()))
		if err == nil && len(cp) > 0 {
			out[id] = cp
		}
	}
	return out
}

// parseTaskDir parses a task directory's name, "<subtopology>_<partition>".
func parseTaskDir(name string) (engine.TaskID, bool) {
	s, p, ok := strings.Cut(name, "_")
	if !ok {
		return engine.TaskID{}, false
	}
	st, err1 := strconv.Atoi(s)
	part, err2 := strconv.ParseInt(p, 10, 32)
	if err1 != nil || err2 != nil || st < 0 || part < 0 {
		return engine.TaskID{}, false
	}
	return engine.TaskID{Subtopology: st, Partition: int32(part)}, true
}
