package deadletter

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Page sizes of List.
const (
	// DefaultCount is the page size of a Query without Count.
	DefaultCount = 100
	// MaxCount is the largest page size.
	MaxCount = 10000
)

// Filter selects dead-set records by what they are. Its zero value
// selects every record; each field set narrows the selection.
type Filter struct {
	// Topic selects the records that came from this source topic.
	Topic string
	// Key, when not nil, selects the records with this key (a null key is
	// never selected).
	Key []byte
	// Reason selects the records that failed for this reason (Reason*,
	// or an outcome handler's own).
	Reason string
	// Handler selects the records this outcome handler gave up.
	Handler string
	// Since and Until select the records whose timestamp (the failed
	// record's own) is at or after Since and before Until.
	Since, Until time.Time
}

// empty reports whether f selects every record.
func (f Filter) empty() bool {
	return f.Topic == "" && f.Key == nil && f.Reason == "" && f.Handler == "" && f.Since.IsZero() && f.Until.IsZero()
}

// match reports whether f selects d, a record Parse read; a record it
// could not read (d.Err set) only when f is empty.
func (f Filter) match(d *Record) bool {
	if d.Err != nil {
		return f.empty()
	}
	return (f.Topic == "" || d.Topic == f.Topic) &&
		(f.Key == nil || d.Key != nil && bytes.Equal(d.Key, f.Key)) &&
		(f.Reason == "" || d.Reason == f.Reason) &&
		(f.Handler == "" || d.Handler == f.Handler) &&
		(f.Since.IsZero() || !d.Timestamp.Before(f.Since)) &&
		(f.Until.IsZero() || d.Timestamp.Before(f.Until))
}

// Query asks List for a page of the dead set.
type Query struct {
	Filter
	// Count is the most records the page holds: 1 to MaxCount; 0 means
	// DefaultCount.
	Count int
	// After is the cursor where the page starts, Page.Next of the page
	// before; "" starts at the beginning of the dead set.
	After string
}

// Coordinates locate a record in the dead set: its partition and offset in
// the dead-letter topic (Record.DeadLetterPartition and
// DeadLetterOffset).
type Coordinates struct {
	Partition int32
	Offset    int64
}

// Selection says which records of the dead set Replay or Delete act on:
// one record by its coordinates (Record), or the records Filter selects,
// narrowed by Before and Count. So that no request acts on the whole dead
// set by mistake, a Selection that is not narrowed at all must say All.
type Selection struct {
	Filter
	// Record selects the one record at these coordinates; nothing else
	// may be set with it.
	Record *Coordinates
	// All must be set to select every record of the dead set (with an
	// empty Filter, no Before and no Count).
	All bool
	// Before, a cursor (Page.Next), selects only records before it: in
	// the partitions and up to the offsets the pages up to that cursor
	// read. Records that entered the dead set after the operator looked
	// are left alone.
	Before string
	// Count, when positive, selects at most the first Count records
	// matching, in the order List returns them.
	Count int
	// ToSource (Replay only) writes the records back to their source
	// topics and partitions instead of their handlers' retry topics:
	// every consumer group of those topics sees them again. The only way
	// to replay records that name no handler.
	ToSource bool
	// DryRun makes Replay and Delete report what they would do, doing
	// nothing.
	DryRun bool
}

// String returns s as the parameters ParseSelection reads, in a query
// string.
func (s Selection) String() string {
	v := s.Filter.values()
	if s.Record != nil {
		v.Set("partition", strconv.Itoa(int(s.Record.Partition)))
		v.Set("offset", strconv.FormatInt(s.Record.Offset, 10))
	}
	for name, set := range map[string]bool{"all": s.All, "to_source": s.ToSource, "dry_run": s.DryRun} {
		if set {
			v.Set(name, "true")
		}
	}
	if s.Before != "" {
		v.Set("before", s.Before)
	}
	if s.Count != 0 {
		v.Set("count", strconv.Itoa(s.Count))
	}
	return v.Encode()
}

// values returns f as the parameters ParseQuery reads.
func (f Filter) values() url.Values {
	v := url.Values{}
	for name, value := range map[string]string{"topic": f.Topic, "reason": f.Reason, "handler": f.Handler} {
		if value != "" {
			v.Set(name, value)
		}
	}
	switch {
	case f.Key == nil:
	case utf8.Valid(f.Key):
		v.Set("key", string(f.Key))
	default:
		v.Set("key_base64", base64.StdEncoding.EncodeToString(f.Key))
	}
	for name, t := range map[string]time.Time{"since": f.Since, "until": f.Until} {
		if !t.IsZero() {
			v.Set(name, t.Format(time.RFC3339Nano))
		}
	}
	return v
}

// check validates s for Replay (replay) or Delete.
func (s Selection) check(replay bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
	}
	switch {
	case s.Count < 0:
		return bad("count: %d is negative", s.Count)
	case s.ToSource && !replay:
		return bad("to_source: only a replay writes records anywhere")
	case s.Record != nil && (!s.Filter.empty() || s.All || s.Before != "" || s.Count != 0):
		return bad("partition and offset select one record; a filter, all, before or count cannot go with them")
	case s.Record != nil && (s.Record.Partition < 0 || s.Record.Offset < 0):
		return bad("partition %d, offset %d: coordinates are not negative", s.Record.Partition, s.Record.Offset)
	case s.Record == nil && s.Filter.empty() && !s.All && s.Before == "" && s.Count == 0:
		return bad("say which records: a filter (topic, key, reason, handler, since, until), before, count, partition and offset, or all")
	}
	return s.Filter.check()
}

// check validates f.
func (f Filter) check() error {
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return fmt.Errorf("%w: until (%s) is not after since (%s)", ErrInvalidRequest, f.Until.Format(time.RFC3339Nano), f.Since.Format(time.RFC3339Nano))
	}
	return nil
}

// check validates q and sets its default count.
func (q *Query) check() error {
	switch {
	case q.Count == 0:
		q.Count = DefaultCount
	case q.Count < 1 || q.Count > MaxCount:
		return fmt.Errorf("%w: count: %d is not between 1 and %d", ErrInvalidRequest, q.Count, MaxCount)
	}
	return q.Filter.check()
}

// The parameters of the HTTP API and of the strata command, as ParseQuery
// and ParseSelection read them.
var (
	filterParams    = []string{"topic", "key", "key_base64", "reason", "handler", "since", "until"}
	queryParams     = append([]string{"count", "after"}, filterParams...)
	selectionParams = append([]string{"partition", "offset", "all", "before", "count", "to_source", "dry_run"}, filterParams...)
)

// ParseQuery reads a Query from its parameters, as the HTTP API's GET
// /v1/dead_set takes them: count, after (a cursor), topic, key (as text),
// key_base64 (a binary key, in standard base64), reason, handler, since and
// until (RFC 3339 times). A parameter given empty is as if absent. An
// unknown, repeated or malformed parameter is an error wrapping
// ErrInvalidRequest that names it.
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	p := params{v: v}
	p.known(queryParams)
	q.Filter = p.filter()
	q.Count = p.int("count", 1, MaxCount)
	q.After = p.string("after")
	if p.err != nil {
		return Query{}, p.err
	}
	return q, q.check()
}

// ParseSelection reads a Selection from its parameters, as the HTTP API's
// POST /v1/dead_set/replay and DELETE /v1/dead_set take them: those of
// ParseQuery but count and after, and partition and offset (one record),
// all, before (a cursor), count, to_source and dry_run (booleans). An
// unknown, repeated or malformed parameter is an error wrapping
// ErrInvalidRequest that names it.
func ParseSelection(v url.Values) (Selection, error) {
	var s Selection
	p := params{v: v}
	p.known(selectionParams)
	s.Filter = p.filter()
	_, hasP := v["partition"]
	_, hasO := v["offset"]
	switch {
	case hasP && hasO:
		s.Record = &Coordinates{Partition: int32(p.int("partition", 0, 1<<31-1)), Offset: int64(p.int("offset", 0, 1<<62))}
	case hasP || hasO:
		p.fail("partition and offset", "give both, to select one record")
	}
	s.All = p.bool("all")
	s.Before = p.string("before")
	s.Count = p.int("count", 1, 1<<62)
	s.ToSource = p.bool("to_source")
	s.DryRun = p.bool("dry_run")
	if p.err != nil {
		return Selection{}, p.err
	}
	return s, nil
}

// params reads request parameters, keeping the first error.
type params struct {
	v   url.Values
	err error
}

func (p *params) fail(name, format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s: %s", ErrInvalidRequest, name, fmt.Sprintf(format, args...))
	}
}

// known fails on a parameter not in names.
func (p *params) known(names []string) {
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range p.v {
			if !yield(k) {
				return
			}
		}
	}) {
		if !slices.Contains(names, k) {
			p.fail(k, "unknown parameter; known are %s", strings.Join(names, ", "))
		}
	}
}

// string returns the parameter name, "" if absent.
func (p *params) string(name string) string {
	vs := p.v[name]
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	p.fail(name, "given %d times", len(vs))
	return ""
}

// int returns the integer parameter name, 0 if absent.
func (p *params) int(name string, lo, hi int) int {
	s := p.string(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		p.fail(name, "%q is not an integer", s)
	case n < lo || n > hi:
		p.fail(name, "%d is not between %d and %d", n, lo, hi)
	}
	return n
}

// bool returns the boolean parameter name, false if absent.
func (p *params) bool(name string) bool {
	s := p.string(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.fail(name, "%q is not true or false", s)
	}
	return b
}

// time returns the RFC 3339 time parameter name, the zero time if absent.
func (p *params) time(name string) time.Time {
	s := p.string(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		p.fail(name, "%q is not an RFC 3339 time such as 2026-11-22T10:00:00Z", s)
	}
	return t
}

// filter returns the filter parameters.
func (p *params) filter() Filter {
	f := Filter{
		Topic:   p.string("topic"),
		Reason:  p.string("reason"),
		Handler: p.string("handler"),
		Since:   p.time("since"),
		Until:   p.time("until"),
	}
	key, b64 := p.string("key"), p.string("key_base64")
	switch {
	case key != "" && b64 != "":
		p.fail("key and key_base64", "give one")
	case key != "":
		f.Key = []byte(key)
	case b64 != "":
		k, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			p.fail("key_base64", "%q is not base64: %v", b64, err)
		}
		f.Key = k
	}
	return f
}
