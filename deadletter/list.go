package deadletter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Page is a page of the dead set.
type Page struct {
	// Records are the page's records, partition by partition of the
	// dead-letter topic, in offset order within each. A record of the
	// topic that Parse refused is there too (with Err set), when the
	// query has no filter.
	Records []Record `json:"records"`
	// Next is the cursor of the next page (Query.After), and the bound of
	// what this page and those before it showed (Selection.Before).
	Next string `json:"next"`
	// More reports that the dead set has records past Next that the
	// query selects (as the dead set was when List began): there is a
	// next page.
	More bool `json:"more"`
}

// List returns a page of the dead set: at most q.Count records that
// q.Filter selects, from the cursor q.After (or the beginning), in the
// order of Page.Records, as the dead set is when List begins (what a
// read_committed consumer sees: no record of an aborted transaction).
//
// List holds only the page's records, and what its client fetches at once
// (about a megabyte): it reads the dead-letter topic a partition at a
// time, from the cursor, and stops at the first selected record past the
// page (to tell whether there is a next page). A filter that selects few
// records reads through many, but keeps only those.
//
// A bad cursor is an error wrapping ErrBadCursor, a filter's topic that
// does not exist one wrapping ErrUnknownTopic, both with
// ErrInvalidRequest.
func (s *DeadSet) List(ctx context.Context, q Query) (Page, error) {
	if err := q.check(); err != nil {
		return Page{}, err
	}
	cl, err := s.client(false)
	if err != nil {
		return Page{}, err
	}
	defer cl.Close()
	v, err := s.load(ctx, cl)
	if err != nil {
		return Page{}, err
	}
	if err := s.checkTopics(ctx, cl, "topic", q.Topic); err != nil {
		return Page{}, err
	}
	from, err := s.cursorStart("after", q.After, v)
	if err != nil {
		return Page{}, err
	}
	page := Page{Records: make([]Record, 0, min(q.Count, 256))}
	next := slices.Clone(from)
	for p := range int32(v.partitions()) {
		// Once the page is full, the scan goes on to the next record
		// selected, if any, to say whether there is a next page; that
		// record starts it.
		peeked := int64(-1)
		next[p], err = scan(ctx, cl, s.cfg.Topic, p, from[p], v.end[p], func(r *kgo.Record) bool {
			if v.deleted[p][r.Offset] {
				return true
			}
			d := read(r)
			if !q.match(&d) {
				return true
			}
			if len(page.Records) == q.Count {
				peeked = r.Offset
				return false
			}
			page.Records = append(page.Records, retain(d))
			return true
		})
		if err != nil {
			return Page{}, fmt.Errorf("deadletter: list %q: %w", s.cfg.Topic, err)
		}
		if peeked >= 0 {
			next[p], page.More = peeked, true
			break
		}
	}
	page.Next = encodeCursor(s.cfg.Topic, next)
	return page, nil
}

// read returns r as a dead-set record: Parse's, or r as it is with Err set
// when Parse refuses it.
func read(r *kgo.Record) Record {
	d, err := Parse(r)
	if err != nil {
		return Record{
			Key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers,
			Partition: -1, Offset: -1,
			DeadLetterPartition: r.Partition, DeadLetterOffset: r.Offset,
			Err: err,
		}
	}
	return d
}

// retain returns d with copies of its bytes, so that it does not hold the
// fetch they came in.
func retain(d Record) Record {
	d.Key, d.Value = bytes.Clone(d.Key), bytes.Clone(d.Value)
	d.Headers = slices.Clone(d.Headers)
	for i := range d.Headers {
		d.Headers[i].Value = bytes.Clone(d.Headers[i].Value)
	}
	return d
}

// cursorStart returns where each partition's records start after cursor c
// (the beginning when c is ""), given as parameter param: the cursor's
// offset, or past the deleted records when they reach further.
func (s *DeadSet) cursorStart(param, c string, v view) ([]int64, error) {
	from := slices.Clone(v.start)
	if c == "" {
		return from, nil
	}
	offsets, err := decodeCursor(param, c, s.cfg.Topic, v.partitions())
	if err != nil {
		return nil, err
	}
	for p, o := range offsets {
		from[p] = min(max(from[p], o), v.end[p])
	}
	return from, nil
}

// checkTopics checks that topics ("" ignored) exist; one that does not is
// an error wrapping ErrInvalidRequest and ErrUnknownTopic, naming param.
func (s *DeadSet) checkTopics(ctx context.Context, cl *kgo.Client, param string, topics ...string) error {
	_, err := partitionCounts(ctx, cl, param, topics...)
	return err
}

// partitionCounts returns the partition counts of topics ("" ignored); a
// topic that does not exist is an error wrapping ErrInvalidRequest and
// ErrUnknownTopic, naming what.
func partitionCounts(ctx context.Context, cl *kgo.Client, what string, topics ...string) (map[string]int, error) {
	topics = slices.DeleteFunc(slices.Clone(topics), func(t string) bool { return t == "" })
	if len(topics) == 0 {
		return nil, nil
	}
	details, err := kadm.NewClient(cl).ListTopics(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("deadletter: look up topics %q: %w", topics, err)
	}
	counts := make(map[string]int, len(topics))
	for _, t := range topics {
		d, ok := details[t]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			return nil, fmt.Errorf("%w: %s: %w %q", ErrInvalidRequest, what, ErrUnknownTopic, t)
		case d.Err != nil:
			return nil, fmt.Errorf("deadletter: look up topic %q: %w", t, d.Err)
		}
		counts[t] = len(d.Partitions)
	}
	return counts, nil
}
