package join

import (
	"errors"
	"fmt"
	"time"
)

// Windows bound a stream-stream join, as Kafka Streams' JoinWindows: a left
// record at time t joins the right records of its key whose times are in
// [t - before, t + after], both ends included. Make them with [Within] and
// shape them with [Windows.Before] and [Windows.After]; the zero Windows
// joins records of exactly equal times, with no grace.
//
// The grace period is how long after a window ends it still accepts
// out-of-order records: a left record's window ends at t + after, a right
// record's at t + before, and a left or outer join emits a record that found
// no partner once stream time passes that end plus grace. The join's stores
// keep records for before + after + grace; a record older than that is not
// kept, and counted as dropped.
//
// Times are kept to the millisecond, as Kafka does: sub-millisecond parts of
// the durations are ignored.
type Windows struct {
	before, after, grace time.Duration
}

// Within returns windows that join records at most diff apart, either way,
// with the given grace period: Kafka Streams'
// JoinWindows.ofTimeDifferenceAndGrace (ofTimeDifferenceWithNoGrace with a
// zero grace).
func Within(diff, grace time.Duration) Windows {
	return Windows{before: diff, after: diff, grace: grace}
}

// Before returns w with the bound on how far before a left record a right
// record may be to join it. The bound may be negative, as long as before +
// after is not.
func (w Windows) Before(d time.Duration) Windows { w.before = d; return w }

// After returns w with the bound on how far after a left record a right
// record may be to join it. The bound may be negative, as long as before +
// after is not.
func (w Windows) After(d time.Duration) Windows { w.after = d; return w }

// Bounds returns how far before and after a left record the right records it
// joins may be.
func (w Windows) Bounds() (before, after time.Duration) { return w.before, w.after }

// Grace returns the grace period.
func (w Windows) Grace() time.Duration { return w.grace }

// Size returns the length of a join window, before + after: Kafka Streams'
// JoinWindows.size. The join's stores keep records for Size + Grace.
func (w Windows) Size() time.Duration { return w.before + w.after }

// String formats w as Kafka Streams formats JoinWindows.
func (w Windows) String() string {
	return fmt.Sprintf("JoinWindows{beforeMs=%d, afterMs=%d, graceMs=%d}",
		w.before.Milliseconds(), w.after.Milliseconds(), w.grace.Milliseconds())
}

// ErrInvalidWindows is wrapped by the errors of [Windows.Validate], and so
// by the Build errors of joins given invalid windows.
var ErrInvalidWindows = errors.New("invalid join windows")

// Validate reports what is wrong with w, as Kafka Streams' JoinWindows
// rejects it: a negative window (before + after < 0) or a negative grace.
func (w Windows) Validate() error {
	var errs []error
	if w.before.Milliseconds()+w.after.Milliseconds() < 0 {
		errs = append(errs, fmt.Errorf("%w: the window, before %v + after %v, is negative", ErrInvalidWindows, w.before, w.after))
	}
	if w.grace < 0 {
		errs = append(errs, fmt.Errorf("%w: grace period %v is negative", ErrInvalidWindows, w.grace))
	}
	return errors.Join(errs...)
}

// millis is w in milliseconds.
type millis struct{ before, after, grace int64 }

func (w Windows) millis() millis {
	return millis{w.before.Milliseconds(), w.after.Milliseconds(), w.grace.Milliseconds()}
}

// storeSize is the window size of the join's window stores: before + after,
// and at least a millisecond, which window stores need.
func (m millis) storeSize() int64 { return max(m.before+m.after, 1) }

// retention is how long the join's stores keep records: size + grace, and
// at least storeSize. A zero-size window keeps records a millisecond longer
// than Kafka Streams' stores do, which changes no result.
func (m millis) retention() int64 { return max(m.before+m.after+m.grace, m.storeSize()) }
