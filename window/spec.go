package window

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// TimeWindows are fixed-size windows aligned to the Unix epoch: tumbling
// windows when Advance equals Size, hopping (overlapping) windows when
// Advance is smaller. Windows are [start, start+Size), starting at every
// multiple of Advance from the epoch; a record at time t belongs to every
// window with start <= t < start+Size. No window starts before the epoch.
//
// A window is closed, and records for it are dropped, once
// end <= streamTime - Grace. Build one with [Tumbling] or [Hopping], and
// check a literal with Validate.
type TimeWindows struct {
	// Size is the length of each window.
	Size time.Duration
	// Advance is the distance between the starts of consecutive windows:
	// Size for tumbling windows, less for hopping ones.
	Advance time.Duration
	// Grace is how long after a window's end it still accepts
	// out-of-order records.
	Grace time.Duration
}

// Tumbling returns non-overlapping windows of the given size, each
// accepting records until grace after its end: Kafka Streams'
// TimeWindows.ofSizeAndGrace (ofSizeWithNoGrace for a grace of zero).
func Tumbling(size, grace time.Duration) TimeWindows {
	return TimeWindows{Size: size, Advance: size, Grace: grace}
}

// Hopping returns windows of the given size starting every advance, so
// that a record falls in up to size/advance of them: Kafka Streams'
// TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance).
func Hopping(size, advance, grace time.Duration) TimeWindows {
	return TimeWindows{Size: size, Advance: advance, Grace: grace}
}

// Validate reports what is wrong with w, as Kafka Streams' TimeWindows
// rejects it: a size or advance of less than a millisecond, an advance
// larger than the size, or a negative grace.
func (w TimeWindows) Validate() error {
	var errs []error
	sizeOK := w.Size.Milliseconds() >= 1
	if !sizeOK {
		errs = append(errs, fmt.Errorf("window size %v must be at least a millisecond", w.Size))
	}
	switch {
	case w.Advance.Milliseconds() < 1:
		// Tumbling windows have advance == size: say it once.
		if sizeOK || w.Advance != w.Size {
			errs = append(errs, fmt.Errorf("window advance %v must be at least a millisecond", w.Advance))
		}
	case sizeOK && w.Advance.Milliseconds() > w.Size.Milliseconds():
		errs = append(errs, fmt.Errorf("window advance %v is larger than the window size %v", w.Advance, w.Size))
	}
	if w.Grace < 0 {
		errs = append(errs, fmt.Errorf("grace period %v is negative", w.Grace))
	}
	return errors.Join(errs...)
}

// WindowsFor returns the windows a record at time ts belongs to, in order
// of start: every window with start <= ts < end whose start is not before
// the epoch (Kafka Streams' TimeWindows.windowsFor). It returns nil for a
// time before the epoch or an invalid w.
func (w TimeWindows) WindowsFor(ts time.Time) []Window {
	size, adv := w.Size.Milliseconds(), w.Advance.Milliseconds()
	t := ts.UnixMilli()
	if size < 1 || adv < 1 || adv > size || t < 0 {
		return nil
	}
	start := max(0, t-size+adv) / adv * adv
	out := make([]Window, 0, (t-start)/adv+1)
	for ; start <= t; start += adv {
		out = append(out, Window{Start: time.UnixMilli(start), End: time.UnixMilli(addMillis(start, size))})
		if start > math.MaxInt64-adv {
			break
		}
	}
	return out
}

// SlidingWindows are windows of a fixed length that slide with the records
// rather than the clock (Kafka Streams' SlidingWindows, KIP-450): two
// records are in a common window when their timestamps differ by at most
// TimeDifference. Each record at time t has a left window
// [t-TimeDifference, t], ending with it, and a right window
// [t+1, t+1+TimeDifference], starting just after it, created only when a
// later record falls in it; only windows that hold records exist.
//
// Unlike time windows, sliding windows include both ends, as in Kafka
// Streams: a result's Window.End is the time of its last possible record.
// Records before TimeDifference after the epoch share the window
// [0, TimeDifference], since no window starts before the epoch.
//
// A window is closed, and records for it are dropped, once
// end < streamTime - Grace. Build one with [Sliding].
type SlidingWindows struct {
	// TimeDifference is the largest difference between the timestamps
	// of two records in one window, and the length of every window.
	TimeDifference time.Duration
	// Grace is how long after a window's end it still accepts
	// out-of-order records.
	Grace time.Duration
}

// Sliding returns sliding windows of the given time difference and grace:
// Kafka Streams' SlidingWindows.ofTimeDifferenceAndGrace.
func Sliding(timeDifference, grace time.Duration) SlidingWindows {
	return SlidingWindows{TimeDifference: timeDifference, Grace: grace}
}

// Validate reports what is wrong with w: a time difference of less than a
// millisecond, or a negative grace. Kafka Streams accepts a time difference
// of zero (windows of a single instant); Strata's window stores need a
// window length of at least a millisecond, so it does not.
func (w SlidingWindows) Validate() error {
	var errs []error
	if w.TimeDifference.Milliseconds() < 1 {
		errs = append(errs, fmt.Errorf("sliding window time difference %v must be at least a millisecond", w.TimeDifference))
	}
	if w.Grace < 0 {
		errs = append(errs, fmt.Errorf("grace period %v is negative", w.Grace))
	}
	return errors.Join(errs...)
}

// SessionWindows group each key's records into sessions of activity
// (Kafka Streams' SessionWindows): a record within InactivityGap of a
// session joins it, and a record that falls within the gap of two sessions
// merges them. A session is [first record, last record], both inclusive.
//
// A session is closed, and records that would extend it are dropped, once
// end < streamTime - Grace - InactivityGap. Build one with [Session].
type SessionWindows struct {
	// InactivityGap is how long a session waits for its next record
	// before it ends.
	InactivityGap time.Duration
	// Grace is how long after a session could last have been extended it
	// still accepts out-of-order records.
	Grace time.Duration
}

// Session returns session windows with the given inactivity gap and grace:
// Kafka Streams' SessionWindows.ofInactivityGapAndGrace.
func Session(inactivityGap, grace time.Duration) SessionWindows {
	return SessionWindows{InactivityGap: inactivityGap, Grace: grace}
}

// Validate reports what is wrong with w: an inactivity gap of less than a
// millisecond, or a negative grace.
func (w SessionWindows) Validate() error {
	var errs []error
	if w.InactivityGap.Milliseconds() < 1 {
		errs = append(errs, fmt.Errorf("session inactivity gap %v must be at least a millisecond", w.InactivityGap))
	}
	if w.Grace < 0 {
		errs = append(errs, fmt.Errorf("grace period %v is negative", w.Grace))
	}
	return errors.Join(errs...)
}
