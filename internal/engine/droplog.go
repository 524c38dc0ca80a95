package engine

import (
	"strings"
	"time"
)

// Records dropped on purpose (Drop) and bad input records skipped by policy
// (badRecord) are counted per node and reason, for the runtime's metrics
// (TakeDrops), and logged at WARN at most once per node and reason per
// TaskConfig.DropLogInterval: the first drop is logged with its record's
// coordinates, and the drops that follow within the interval are counted
// and logged together, with the last one's coordinates, by the next drop
// after the interval or by LogDrops, which the runtime calls at every
// commit, or, whatever the interval, when the task closes. A flood of late records thus costs a line per interval, not one
// per record.

// DefaultDropLogInterval is TaskConfig.DropLogInterval's default.
const DefaultDropLogInterval = 10 * time.Second

// DropReason classifies why a record was dropped, for metrics.
type DropReason uint8

// Drop reasons.
const (
	// DropOther is any reason not classified below.
	DropOther DropReason = iota
	// DropNullKey: the record has a null key where one is needed (an
	// aggregation, a join, a repartition, a null foreign key).
	DropNullKey
	// DropNullValue: the record has a null value where one is needed.
	DropNullValue
	// DropLate: the record is too late for a stream-stream join's window.
	DropLate
	// DropExpiredWindow: the record's windows have closed (past their
	// grace) in a windowed aggregation.
	DropExpiredWindow
	// DropStaleResponse: a foreign-key join's response no longer matches
	// the left row it answers.
	DropStaleResponse
	// DropBadRecord: an input record that cannot be deserialized, or
	// whose timestamp is invalid, skipped by the bad-record policy.
	DropBadRecord
	// NumDropReasons is the number of drop reasons.
	NumDropReasons
)

var dropReasonNames = [NumDropReasons]string{"other", "null_key", "null_value", "late", "expired_window", "stale_response", "bad_record"}

// String returns the reason's metric attribute value, such as "null_key".
func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropReasonNames[r]
	}
	return dropReasonNames[DropOther]
}

// ClassifyDrop classifies the reason a processor gave Drop (through
// topology.Context.SkipRecord): the DSL's reasons mention an expired window,
// a record too late, a stale response, a null value or a null key; anything
// else is DropOther.
func ClassifyDrop(reason string) DropReason {
	r := strings.ToLower(reason)
	switch {
	case strings.Contains(r, "expired window"):
		return DropExpiredWindow
	case strings.Contains(r, "too late"):
		return DropLate
	case strings.Contains(r, "stale"):
		return DropStaleResponse
	case strings.Contains(r, "null value"):
		return DropNullValue
	case strings.Contains(r, "null") && strings.Contains(r, "key"):
		return DropNullKey
	}
	return DropOther
}

// dropEntry counts the drops of one node for one reason.
type dropEntry struct {
	node, text string
	reason     DropReason
	// taken counts drops not yet taken by TakeDrops.
	taken int64
	// logged is when the entry was last logged; unlogged counts the
	// drops since, last the latest one's record.
	logged   time.Time
	unlogged int64
	last     Current
	// err is the latest bad record's error.
	err error
}

// dropped counts a drop by node for reason (text, as given) of the record at
// c, which failed with err (a bad record), and logs it, or not, by the
// entry's interval.
func (t *Task) dropped(node, text string, reason DropReason, c Current, err error) {
	var e *dropEntry
	for i := range t.drops {
		if d := &t.drops[i]; d.node == node && d.text == text {
			e = d
			break
		}
	}
	if e == nil {
		t.drops = append(t.drops, dropEntry{node: node, text: text, reason: reason})
		e = &t.drops[len(t.drops)-1]
	}
	e.taken++
	e.unlogged++
	e.last, e.err = c, err
	if now := t.cfg.Now(); e.logged.IsZero() || now.Sub(e.logged) >= t.dropLogInterval() {
		t.logDrops(e, now)
	}
}

func (t *Task) dropLogInterval() time.Duration {
	if t.cfg.DropLogInterval > 0 {
		return t.cfg.DropLogInterval
	}
	return DefaultDropLogInterval
}

// logDrops logs e's drops since it was last logged.
func (t *Task) logDrops(e *dropEntry, now time.Time) {
	c := e.last
	if e.reason == DropBadRecord {
		t.cfg.Logger.Warn("skipping bad input record", "dead_lettered", t.cfg.OnBadRecord == BadRecordDeadLetter, "records", e.unlogged,
			"topic", c.Topic, "partition", c.Partition, "offset", c.Offset, "err", e.err)
	} else {
		t.cfg.Logger.Warn("dropping record", "node", e.node, "reason", e.text, "records", e.unlogged,
			"topic", c.Topic, "partition", c.Partition, "offset", c.Offset, "timestamp", c.Timestamp)
	}
	e.logged, e.unlogged = now, 0
}

// LogDrops logs the drops counted but not yet logged whose interval has
// passed. The runtime calls it at every commit, so that the last drops of
// a burst are logged too.
func (t *Task) LogDrops() {
	now := t.cfg.Now()
	for i := range t.drops {
		if e := &t.drops[i]; e.unlogged > 0 && now.Sub(e.logged) >= t.dropLogInterval() {
			t.logDrops(e, now)
		}
	}
}

// logLastDrops logs every drop counted but not yet logged, whatever its
// interval: Close calls it, so that drops in a task's last interval are
// not lost from the log when the task closes (a revocation, a shutdown).
func (t *Task) logLastDrops() {
	now := t.cfg.Now()
	for i := range t.drops {
		if e := &t.drops[i]; e.unlogged > 0 {
			t.logDrops(e, now)
		}
	}
}

// TakeDrops calls fn with the drops of each node and reason counted since
// the last call (bad records with node ""), and forgets them. It allocates
// nothing.
func (t *Task) TakeDrops(fn func(node string, reason DropReason, n int64)) {
	for i := range t.drops {
		if e := &t.drops[i]; e.taken > 0 {
			fn(e.node, e.reason, e.taken)
			e.taken = 0
		}
	}
}
