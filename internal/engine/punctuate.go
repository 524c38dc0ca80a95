package engine

import (
	"fmt"
	"time"
)

// PunctuationType says which clock drives a punctuation.
type PunctuationType int

const (
	// StreamTime punctuations fire as records move stream time forward;
	// they never fire while no data arrives.
	StreamTime PunctuationType = iota
	// WallClockTime punctuations fire from the wall clock, checked by the
	// runtime's poll loop (or the test driver's AdvanceWallClockTime).
	WallClockTime
)

// Schedule is one registered punctuation.
type Schedule struct {
	node      string
	interval  int64
	next      int64
	fn        func(ts int64) error
	cancelled bool
}

// Cancel stops future punctuations of the schedule.
func (s *Schedule) Cancel() { s.cancelled = true }

type punctuations struct {
	list []*Schedule
}

// Schedule registers fn to run every interval on behalf of node. Stream-time
// schedules are aligned to 0 and fire with the first record, as in Kafka
// Streams; wall-clock schedules first fire one interval from now.
func (t *Task) Schedule(node string, interval time.Duration, typ PunctuationType, fn func(ts int64) error) (*Schedule, error) {
	ms := interval.Milliseconds()
	if ms < 1 {
		return nil, fmt.Errorf("punctuation interval must be at least 1ms, got %v", interval)
	}
	s := &Schedule{node: node, interval: ms, fn: fn}
	switch typ {
	case StreamTime:
		s.next = 0
		t.streamPunct.list = append(t.streamPunct.list, s)
	case WallClockTime:
		s.next = t.cfg.Now().UnixMilli() + ms
		t.wallPunct.list = append(t.wallPunct.list, s)
	default:
		return nil, fmt.Errorf("unknown punctuation type %d", typ)
	}
	return s, nil
}

// fire runs every schedule due at now, earliest first, each at most once.
func (p *punctuations) fire(t *Task, now int64) error {
	if now == UnknownTime || len(p.list) == 0 {
		return nil
	}
	live := p.list[:0]
	for _, s := range p.list {
		if !s.cancelled {
			live = append(live, s)
		}
	}
	clear(p.list[len(live):])
	p.list = live
	// Few schedules per task: a selection loop beats a heap here.
	fired := 0
	for fired < len(p.list) {
		var due *Schedule
		for _, s := range p.list {
			if !s.cancelled && s.next <= now && (due == nil || s.next < due.next) {
				due = s
			}
		}
		if due == nil {
			return nil
		}
		fired++
		due.next = nextPunctuation(due.next, due.interval, now)
		t.Metrics.Punctuations++
		var start time.Time
		if t.cfg.Observer != nil {
			start = time.Now()
		}
		err := t.call(due.node, func() error { return due.fn(now) })
		if t.cfg.Observer != nil {
			t.cfg.Observer.Punctuated(time.Since(start))
		}
		if err != nil {
			return fmt.Errorf("task %s: punctuate %q: %w", t.ID, due.node, err)
		}
	}
	return nil
}

// nextPunctuation mirrors Kafka Streams' PunctuationSchedule.next: the next
// time after now on the schedule's grid, skipping missed slots rather than
// firing them in a burst.
func nextPunctuation(scheduled, interval, now int64) int64 {
	next := scheduled + interval
	if now >= next {
		next = now - (now-scheduled)%interval + interval
	}
	return next
}
