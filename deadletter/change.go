package deadletter

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Result is what Replay or Delete did, or with Selection.DryRun would do.
type Result struct {
	// Count is how many records were replayed or deleted.
	Count int `json:"count"`
	// Kept is how many records were not selected but came before a
	// selected one in their partition: they were written again at the end
	// of their partition, to stay in the dead set (with new coordinates)
	// as the deleted-up-to position moved past them (see Delete).
	Kept int `json:"kept"`
	// DryRun is Selection.DryRun: nothing was done.
	DryRun bool `json:"dry_run"`
}

// Replay sends the selected records back through the application: each to
// its outcome handler's retry topic (RetryTopic) as a fresh start, attempt
// 0 and due at once, with its key, value, timestamp, own headers and
// source coordinates, never to the source topic, which other consumer
// groups read too; and deletes them from the dead set. A record that fails
// again comes back to the dead set as a new record.
//
// Records that name no handler (of version 1, or written by the
// bad-record, processing and production policies) have no retry topic:
// their replay is refused (ErrNoHandler) unless sel.ToSource, which writes
// every selected record back to its source topic and partition instead,
// for every consumer group of that topic to see again. A selected record
// that is not a dead-letter record, or whose retry or source topic does
// not exist (ErrUnknownTopic), fails the replay too. These are found
// before anything is written: a refused replay replays nothing.
//
// A replay writes records and moves the deleted-up-to positions in Kafka
// transactions of at most a thousand records each, so each record is
// replayed and deleted at once, or neither: a replay that fails or is
// interrupted has replayed and deleted some records and not the others,
// and, run again, replays the others only. Replays and deletes fence each
// other: one that starts stops one still running (ErrConcurrentChange).
func (s *DeadSet) Replay(ctx context.Context, sel Selection) (Result, error) {
	return s.change(ctx, sel, true)
}

// Delete deletes the selected records from the dead set: they no longer
// show in List, and no replay selects them; the dead-letter topic keeps
// them until its retention removes them. Each partition of the
// dead-letter topic has a deleted-up-to position, kept in the positions
// topic (Config.PositionsTopic): Delete moves it past the last selected
// record, and writes again, at the end of the partition and in the same
// transaction, the records before it that are not selected (Result.Kept,
// which get new coordinates). A record selected by its coordinates
// (Selection.Record) is deleted by a mark of its own in the positions
// topic instead, and no other record moves; a mark is forgotten once the
// position passes it. Deleting is idempotent: run again, a Delete finds
// nothing more to delete (unless new records match). See Replay for
// transactions and fencing.
func (s *DeadSet) Delete(ctx context.Context, sel Selection) (Result, error) {
	return s.change(ctx, sel, false)
}

// change replays (replay) or deletes the records sel selects.
//
// A change whose transaction the Kafka client aborted when asked to commit
// it (errSilentAbort) is run again, from the start, up to commitTries
// times: what it committed before stays done, and, run again, it selects
// the rest.
func (s *DeadSet) change(ctx context.Context, sel Selection, replay bool) (Result, error) {
	op, done := "delete", "deleted"
	if replay {
		op, done = "replay", "replayed"
	}
	if err := sel.check(replay); err != nil {
		return Result{}, err
	}
	var res Result
	for try := 1; ; try++ {
		r, wrote, err := s.changeOnce(ctx, sel, replay, op)
		res.Count += r.Count
		res.Kept += r.Kept
		res.DryRun = r.DryRun
		if errors.Is(err, errSilentAbort) && try < commitTries && (sel.Count == 0 || r.Count < sel.Count) {
			s.cfg.Logger.Warn("dead set: the Kafka client aborted a transaction it was asked to commit; running the "+op+" again",
				"topic", s.cfg.Topic, "count", res.Count, "kept", res.Kept, "selection", sel.String(), "try", try)
			if sel.Count > 0 {
				sel.Count -= r.Count
			}
			continue
		}
		if err != nil && (wrote || try > 1) {
			return res, fmt.Errorf("deadletter: %s: %d records %s and %d kept before: %w", op, res.Count, done, res.Kept, err)
		}
		if err != nil {
			return res, err
		}
		if !res.DryRun {
			s.cfg.Logger.Info("dead set: records "+done, "topic", s.cfg.Topic, "count", res.Count, "kept", res.Kept, "selection", sel.String())
		}
		return res, nil
	}
}

// changeOnce runs a change once, with a client of its own (op names it in
// errors). wrote reports that it began writing: its error comes from a
// transaction.
func (s *DeadSet) changeOnce(ctx context.Context, sel Selection, replay bool, op string) (res Result, wrote bool, err error) {
	cl, err := s.client(!sel.DryRun)
	if err != nil {
		return Result{}, false, err
	}
	defer cl.Close()
	if !sel.DryRun {
		// Initialising the transactional producer fences a change that
		// still runs and ends its transaction, before the positions are
		// read.
		if _, _, err := cl.ProducerID(ctx); err != nil {
			return Result{}, false, fmt.Errorf("deadletter: %s: initialise transactional producer %q: %w", op, s.cfg.TransactionalID, fenced(err))
		}
	}
	v, err := s.load(ctx, cl)
	if err != nil {
		return Result{}, false, err
	}
	if err := s.checkTopics(ctx, cl, "topic", sel.Topic); err != nil {
		return Result{}, false, err
	}
	pl, err := s.plan(ctx, cl, sel, v, replay)
	if err != nil {
		return Result{}, false, err
	}
	if sel.DryRun || pl.count == 0 {
		return Result{Count: pl.count, Kept: pl.kept, DryRun: sel.DryRun}, false, nil
	}
	if err := s.ensurePositionsTopic(ctx, cl); err != nil {
		return Result{}, false, err
	}
	res, err = s.apply(ctx, cl, sel, v, pl)
	return res, true, err
}

// plan is what a change does, as its first pass over the dead set finds.
type plan struct {
	// from and last bound the records of each partition it reads again
	// (last is -1 for a partition it does not touch): the selected ones
	// and those before them.
	from, last []int64
	count      int // selected records
	kept       int // records before a selected one, not selected
	// mark is set when the one record selected by its coordinates is
	// deleted by itself, with a mark, rather than by moving its
	// partition's deleted-up-to position (and the records before it).
	mark bool
	// replay is set for a replay, whose records go to targets: the
	// partition counts of the topics it writes to.
	replay  bool
	targets map[string]int
}

// plan reads the records sel may select and returns the plan of the
// change; an error, and nothing to do, when a replay could not replay one
// of them.
func (s *DeadSet) plan(ctx context.Context, cl *kgo.Client, sel Selection, v view, replay bool) (*plan, error) {
	n := v.partitions()
	pl := &plan{from: slices.Clone(v.start), last: make([]int64, n), replay: replay}
	to := slices.Clone(v.end)
	switch {
	case sel.Record != nil:
		p, o := sel.Record.Partition, sel.Record.Offset
		if int(p) >= n {
			return nil, fmt.Errorf("%w: %d@%d: %q has %d partitions", ErrNotFound, p, o, s.cfg.Topic, n)
		}
		if !v.visible(p, o) {
			return nil, fmt.Errorf("%w: %d@%d: deleted or replayed already, or past the end (partition %d's records in the dead set are between offsets %d and %d)", ErrNotFound, p, o, p, v.start[p], v.end[p]-1)
		}
		for q := range to {
			to[q] = pl.from[q]
		}
		pl.from[p], to[p] = o, o+1
		pl.mark = o > v.start[p]
	case sel.Before != "":
		before, err := decodeCursor("before", sel.Before, s.cfg.Topic, n)
		if err != nil {
			return nil, err
		}
		for p := range to {
			if p < len(before) {
				to[p] = max(min(to[p], before[p]), pl.from[p])
			} else {
				to[p] = pl.from[p]
			}
		}
	}
	var (
		chk      replayCheck
		selected func(*Record) bool
	)
	if sel.Record != nil {
		selected = func(d *Record) bool { return d.DeadLetterOffset == sel.Record.Offset }
	} else {
		selected = func(d *Record) bool { return sel.match(d) && (sel.Count == 0 || pl.count < sel.Count) }
	}
	for p := range int32(n) {
		pl.last[p] = -1
		if sel.Count > 0 && pl.count == sel.Count {
			continue
		}
		notSelected := 0
		_, err := scan(ctx, cl, s.cfg.Topic, p, pl.from[p], to[p], func(r *kgo.Record) bool {
			if v.deleted[p][r.Offset] {
				return true
			}
			d := read(r)
			if !selected(&d) {
				notSelected++
				return true
			}
			pl.last[p] = r.Offset
			pl.count++
			pl.kept += notSelected
			notSelected = 0
			if replay {
				chk.add(&d, sel.ToSource, s.cfg.ApplicationID)
			}
			return sel.Count == 0 || pl.count < sel.Count
		})
		if err != nil {
			return nil, fmt.Errorf("deadletter: read %q: %w", s.cfg.Topic, err)
		}
	}
	if sel.Record != nil && pl.count == 0 {
		return nil, fmt.Errorf("%w: %d@%d is not a record (a transaction marker, or a record of an aborted transaction)", ErrNotFound, sel.Record.Partition, sel.Record.Offset)
	}
	if !replay {
		return pl, nil
	}
	var err error
	pl.targets, err = chk.result(ctx, cl)
	return pl, err
}

// replayCheck finds what a replay cannot replay, and the topics it writes
// to.
type replayCheck struct {
	invalid, noHandler           int
	firstInvalid, firstNoHandler *Record
	// topics are the topics to write to, each with the largest partition
	// of a record replayed to its source partition (-1 for retry topics).
	topics map[string]int32
}

// add checks a selected record d.
func (c *replayCheck) add(d *Record, toSource bool, app string) {
	if c.topics == nil {
		c.topics = map[string]int32{}
	}
	switch {
	case d.Err != nil:
		c.invalid++
		if c.firstInvalid == nil {
			c.firstInvalid = d
		}
	case toSource:
		if p, ok := c.topics[d.Topic]; !ok || d.Partition > p {
			c.topics[d.Topic] = d.Partition
		}
	case d.Handler == "":
		c.noHandler++
		if c.firstNoHandler == nil {
			c.firstNoHandler = d
		}
	default:
		c.topics[RetryTopic(app, d.Handler)] = -1
	}
}

// result returns the partition counts of the topics to write to, or why
// the replay cannot be done.
func (c *replayCheck) result(ctx context.Context, cl *kgo.Client) (map[string]int, error) {
	if c.invalid > 0 {
		d := c.firstInvalid
		return nil, fmt.Errorf("%w: %d selected records are not dead-letter records, so cannot be replayed (the first at %d@%d: %v); delete them, or narrow the selection",
			ErrInvalidRequest, c.invalid, d.DeadLetterPartition, d.DeadLetterOffset, d.Err)
	}
	if c.noHandler > 0 {
		d := c.firstNoHandler
		return nil, fmt.Errorf("%w: %w: %d selected records name no outcome handler, so have no retry topic (the first at %d@%d, from %s[%d]@%d, reason %q): "+
			"they were written by the bad-record, processing or production policies, or by a Strata without handlers; "+
			"select a handler's records (handler), or replay them to their source topics (to_source), which every consumer group of those topics sees",
			ErrInvalidRequest, ErrNoHandler, c.noHandler, d.DeadLetterPartition, d.DeadLetterOffset, d.Topic, d.Partition, d.Offset, d.Reason)
	}
	topics := slices.Sorted(func(yield func(string) bool) {
		for t := range c.topics {
			if !yield(t) {
				return
			}
		}
	})
	counts, err := partitionCounts(ctx, cl, "replay to", topics...)
	if err != nil {
		return nil, err
	}
	for _, t := range topics {
		if p := c.topics[t]; int(p) >= counts[t] {
			return nil, fmt.Errorf("%w: replay to %q: a selected record came from its partition %d, but it has %d partitions", ErrInvalidRequest, t, p, counts[t])
		}
	}
	return counts, nil
}

// Bounds of a change's transactions.
const (
	txnRecords = 1000
	txnBytes   = 4 << 20
)

// apply does the change pl plans, on the dead set v: it reads again the
// records of each partition up to its last selected one, replays (for a
// replay) or drops the selected ones and writes the others again, and
// moves the partition's position past them (or marks the one selected
// record deleted), in transactions of at most txnRecords records or
// txnBytes bytes. The marks of records a position passes are forgotten.
func (s *DeadSet) apply(ctx context.Context, cl *kgo.Client, sel Selection, v view, pl *plan) (Result, error) {
	t := &txn{cl: cl, s: s, positions: map[int32]int64{}}
	defer t.close()
	var res, pending Result
	forgotten := map[int32]map[int64]bool{}
	commit := func() error {
		for p, o := range t.positions {
			t.produce(ctx, s.positionRecord(p, o))
			for m := range v.deleted[p] {
				if m < o && !forgotten[p][m] {
					t.produce(ctx, s.deletedRecord(p, m, false))
					if forgotten[p] == nil {
						forgotten[p] = map[int64]bool{}
					}
					forgotten[p][m] = true
				}
			}
		}
		if err := t.commit(ctx); err != nil {
			return err
		}
		res.Count += pending.Count
		res.Kept += pending.Kept
		pending = Result{}
		return nil
	}
	due := s.cfg.Now()
	for p, last := range pl.last {
		if last < 0 {
			continue
		}
		p := int32(p)
		var err error
		_, serr := scan(ctx, cl, s.cfg.Topic, p, pl.from[p], last+1, func(r *kgo.Record) bool {
			if v.deleted[p][r.Offset] {
				return true
			}
			d := read(r)
			selected := sel.match(&d)
			if sel.Record != nil {
				selected = r.Offset == sel.Record.Offset
			}
			switch {
			case !selected:
				t.produce(ctx, &kgo.Record{Topic: s.cfg.Topic, Partition: p, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers})
				pending.Kept++
			case !pl.replay:
				pending.Count++
			case sel.ToSource:
				t.produce(ctx, sourceRecord(d))
				pending.Count++
			default:
				topic := RetryTopic(s.cfg.ApplicationID, d.Handler)
				t.produce(ctx, retryRecord(topic, pl.targets[topic], d, due))
				pending.Count++
			}
			t.positions[p] = r.Offset + 1
			if t.records >= txnRecords || t.bytes >= txnBytes {
				err = commit()
			}
			return err == nil
		})
		if err == nil {
			err = serr
		}
		if err != nil {
			t.abort(ctx)
			return res, err
		}
		if pl.mark {
			delete(t.positions, p)
			t.produce(ctx, s.deletedRecord(p, last, true))
		} else {
			t.positions[p] = last + 1
		}
	}
	if err := commit(); err != nil {
		t.abort(ctx)
		return res, err
	}
	return res, nil
}
