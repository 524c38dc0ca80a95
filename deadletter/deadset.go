package deadletter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Errors of the dead set's operations. Each is returned wrapped, with the
// details; errors.Is tells them apart (the HTTP API maps them to status
// codes).
var (
	// ErrInvalidConfig is returned by Open for a Config it cannot use.
	ErrInvalidConfig = errors.New("deadletter: invalid dead-set configuration")
	// ErrInvalidRequest is a request the dead set refuses as it is: a
	// malformed or out-of-range parameter, a bad cursor, an unknown topic,
	// a replay of records it cannot replay. Nothing was replayed or
	// deleted.
	ErrInvalidRequest = errors.New("deadletter: invalid request")
	// ErrBadCursor is a cursor (Query.After, Selection.Before) that this
	// dead set did not make. It comes with ErrInvalidRequest.
	ErrBadCursor = errors.New("bad cursor")
	// ErrUnknownTopic is a topic that does not exist: a source topic a
	// filter names, or the retry or source topic a replay would write
	// to. It comes with ErrInvalidRequest.
	ErrUnknownTopic = errors.New("unknown topic")
	// ErrNoHandler is a replay of records that name no outcome handler,
	// so have no retry topic to go back to (records of version 1, and
	// those the bad-record, processing and production policies write),
	// without Selection.ToSource. It comes with ErrInvalidRequest.
	ErrNoHandler = errors.New("no handler to replay to")
	// ErrNotFound is a record selected by its coordinates
	// (Selection.Record) that is not in the dead set: past its end,
	// deleted or replayed already, removed by the topic's retention, or
	// not a record at all (a transaction marker).
	ErrNotFound = errors.New("deadletter: no such record in the dead set")
	// ErrNoDeadSet is a dead-letter topic that does not exist.
	ErrNoDeadSet = errors.New("deadletter: the dead-letter topic does not exist")
	// ErrConcurrentChange is a replay or delete that another one, started
	// later on the same dead set, stopped (fenced). What it committed
	// before stays done; run it again to do the rest.
	ErrConcurrentChange = errors.New("deadletter: another replay or delete of the dead set started meanwhile")
)

// Config configures a DeadSet. Only ApplicationID and the brokers (in
// ClientOptions) are required.
type Config struct {
	// ApplicationID is the application whose dead set this is
	// (strata.Config.ApplicationID). Required. Replays of an outcome
	// handler's records go to its retry topic
	// "<ApplicationID>-<handler>-retry".
	ApplicationID string
	// Topic is the dead-letter topic (strata.Config.DeadLetterTopic).
	// Default DefaultTopic(ApplicationID).
	Topic string
	// PositionsTopic keeps how far each partition of Topic is deleted:
	// a compacted topic of one partition, created at the first replay or
	// delete. Default "<ApplicationID>-dead-set-positions".
	PositionsTopic string
	// TransactionalID is the transactional ID of replays and deletes;
	// one that starts fences one still running (ErrConcurrentChange).
	// Default "<ApplicationID>-dead-set".
	TransactionalID string
	// ReplicationFactor of PositionsTopic when the dead set creates it.
	// Default -1, the brokers' default.
	ReplicationFactor int16
	// ClientOptions configure the Kafka clients the dead set creates, one
	// per operation: kgo.SeedBrokers at least, and TLS and SASL as the
	// application uses. The dead set adds what it needs.
	ClientOptions []kgo.Opt
	// Logger receives a line per replay and delete. Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock of replays' due times. Default time.Now.
	Now func() time.Time
}

// DeadSet is an application's dead set: the records of its dead-letter
// topic that are not deleted. It lists them a page at a time (List),
// sends them back through the application's retry flow (Replay) and
// deletes them (Delete), from Go or over HTTP (Handler). Its methods may
// be called concurrently; each creates and closes its own Kafka client.
type DeadSet struct {
	cfg Config
}

// Open returns the dead set cfg describes. It checks cfg but does not
// contact the brokers.
func Open(cfg Config) (*DeadSet, error) {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if cfg.ApplicationID == "" {
		return nil, bad("ApplicationID", "is required")
	}
	if len(cfg.ClientOptions) == 0 {
		return nil, bad("ClientOptions", "is empty; give kgo.SeedBrokers at least")
	}
	if cfg.ReplicationFactor == 0 || cfg.ReplicationFactor < -1 {
		if cfg.ReplicationFactor != 0 {
			return nil, bad("ReplicationFactor", "is %d; want -1 (the brokers' default) or at least 1", cfg.ReplicationFactor)
		}
		cfg.ReplicationFactor = -1
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic(cfg.ApplicationID)
	}
	if cfg.PositionsTopic == "" {
		cfg.PositionsTopic = cfg.ApplicationID + "-dead-set-positions"
	}
	if cfg.PositionsTopic == cfg.Topic {
		return nil, bad("PositionsTopic", "is the dead-letter topic %q", cfg.Topic)
	}
	if cfg.TransactionalID == "" {
		cfg.TransactionalID = cfg.ApplicationID + "-dead-set"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.ClientOptions = append([]kgo.Opt(nil), cfg.ClientOptions...)
	return &DeadSet{cfg: cfg}, nil
}

// Topic returns the dead-letter topic.
func (s *DeadSet) Topic() string { return s.cfg.Topic }

// fetchBytes bounds what a client of the dead set fetches at once, and so
// the memory a page holds beside its records.
const fetchBytes = 1 << 20

// client returns a new client that reads read_committed, a partition at
// a time, and writes to chosen partitions; transactional when
// transactional is set.
func (s *DeadSet) client(transactional bool) (*kgo.Client, error) {
	opts := append(append([]kgo.Opt(nil), s.cfg.ClientOptions...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers move a partition's position to its last
		// stable offset; without them the last one would never be seen.
		kgo.KeepControlRecords(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.FetchMaxBytes(fetchBytes),
		kgo.FetchMaxPartitionBytes(fetchBytes),
		// Records that retention removed meanwhile are passed over.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// A client lives for one operation: pushing its metrics to the
		// brokers (KIP-714) would cost more than the operation.
		kgo.DisableClientMetrics(),
	)
	if transactional {
		opts = append(opts, kgo.TransactionalID(s.cfg.TransactionalID))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("deadletter: create Kafka client: %w", err)
	}
	return cl, nil
}

// view is the dead set as an operation starts: for each partition of the
// dead-letter topic, the offset its visible records start at (past what
// is deleted and what retention removed), its last stable offset, and the
// offsets of the records deleted one by one (some may be before the
// start, until a change forgets them).
type view struct {
	start, end []int64
	deleted    []map[int64]bool
}

// partitions is the dead-letter topic's partition count.
func (v view) partitions() int { return len(v.end) }

// visible reports whether the record at partition p, offset o is in the
// dead set (not deleted).
func (v view) visible(p int32, o int64) bool {
	return o >= v.start[p] && o < v.end[p] && !v.deleted[p][o]
}

// load reads the dead set's view.
func (s *DeadSet) load(ctx context.Context, cl *kgo.Client) (view, error) {
	adm := kadm.NewClient(cl)
	topic := s.cfg.Topic
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = listedError(starts, topic)
	}
	if err != nil {
		return view{}, fmt.Errorf("deadletter: dead set %q: list start offsets: %w", topic, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = listedError(ends, topic)
	}
	if err != nil {
		return view{}, fmt.Errorf("deadletter: dead set %q: list last stable offsets: %w", topic, err)
	}
	pos, err := s.positions(ctx, cl, adm)
	if err != nil {
		return view{}, err
	}
	n := len(ends[topic])
	v := view{start: make([]int64, n), end: make([]int64, n), deleted: make([]map[int64]bool, n)}
	for p := range int32(n) {
		e, ok := ends.Lookup(topic, p)
		st, ok2 := starts.Lookup(topic, p)
		if !ok || !ok2 {
			return view{}, fmt.Errorf("deadletter: dead set %q: no offsets listed for partition %d of %d", topic, p, n)
		}
		v.end[p] = e.Offset
		v.start[p] = min(max(st.Offset, pos.upTo[p]), e.Offset)
		v.deleted[p] = pos.deleted[p]
	}
	return v, nil
}

// listedError is the error of listed offsets, if any: a missing topic
// shows as partition -1 with UnknownTopicOrPartition.
func listedError(l kadm.ListedOffsets, topic string) error {
	err := l.Error()
	if _, ok := l[topic]; !ok || errors.Is(err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("%w: %q", ErrNoDeadSet, topic)
	}
	return err
}

// positions is what the positions topic says of the dead-letter topic:
// for each partition, the offset before which its records are deleted
// (upTo), and the offsets of records deleted one by one (deleted), which
// may be before upTo.
type positions struct {
	upTo    map[int32]int64
	deleted map[int32]map[int64]bool
}

// positions reads the positions topic. Its records are keyed
// "<dead-letter topic>/<partition>", with the deleted-up-to offset of the
// partition in decimal as value, and "<dead-letter topic>/<partition>@<offset>"
// for a record deleted one by one, with value "deleted" (null once the
// deleted-up-to offset passed it, for compaction to remove). The last
// record of a key is its value. A missing positions topic deletes
// nothing.
func (s *DeadSet) positions(ctx context.Context, cl *kgo.Client, adm *kadm.Client) (positions, error) {
	topic := s.cfg.PositionsTopic
	pos := positions{upTo: map[int32]int64{}, deleted: map[int32]map[int64]bool{}}
	fail := func(err error) (positions, error) {
		return positions{}, fmt.Errorf("deadletter: read positions topic %q: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = listedError(starts, topic)
	}
	if errors.Is(err, ErrNoDeadSet) {
		return pos, nil
	} else if err != nil {
		return fail(err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fail(err)
	}
	prefix := s.cfg.Topic + "/"
	var listed []kadm.ListedOffset
	ends.Each(func(o kadm.ListedOffset) { listed = append(listed, o) })
	var perr error
	for _, e := range listed {
		st, _ := starts.Lookup(topic, e.Partition)
		_, err := scan(ctx, cl, topic, e.Partition, st.Offset, e.Offset, func(r *kgo.Record) bool {
			k, ok := strings.CutPrefix(string(r.Key), prefix)
			if !ok {
				return true
			}
			if perr = pos.add(k, r.Value); perr != nil {
				perr = fmt.Errorf("malformed record %s[%d]@%d %q=%q: %w", topic, r.Partition, r.Offset, r.Key, r.Value, perr)
				return false
			}
			return true
		})
		if err == nil {
			err = perr
		}
		if err != nil {
			return fail(err)
		}
	}
	return pos, nil
}

// add applies the positions record of key (its prefix removed) and value.
func (pos positions) add(key string, value []byte) error {
	ps, os, one := strings.Cut(key, "@")
	p, err := strconv.ParseInt(ps, 10, 32)
	if err != nil {
		return err
	}
	if !one {
		o, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil {
			return err
		}
		pos.upTo[int32(p)] = max(pos.upTo[int32(p)], o)
		return nil
	}
	o, err := strconv.ParseInt(os, 10, 64)
	if err != nil {
		return err
	}
	d := pos.deleted[int32(p)]
	if d == nil {
		d = map[int64]bool{}
		pos.deleted[int32(p)] = d
	}
	if value == nil {
		delete(d, o)
	} else {
		d[o] = true
	}
	return nil
}

// positionRecord is the record that deletes partition p of the dead-letter
// topic up to offset.
func (s *DeadSet) positionRecord(p int32, offset int64) *kgo.Record {
	return &kgo.Record{
		Topic: s.cfg.PositionsTopic,
		Key:   fmt.Appendf(nil, "%s/%d", s.cfg.Topic, p),
		Value: strconv.AppendInt(nil, offset, 10),
	}
}

// deletedRecord is the record that deletes the record at partition p,
// offset o of the dead-letter topic, or that forgets it (a tombstone) once
// the partition's deleted-up-to offset passed it.
func (s *DeadSet) deletedRecord(p int32, o int64, deleted bool) *kgo.Record {
	r := &kgo.Record{Topic: s.cfg.PositionsTopic, Key: fmt.Appendf(nil, "%s/%d@%d", s.cfg.Topic, p, o)}
	if deleted {
		r.Value = []byte("deleted")
	}
	return r
}

// ensurePositionsTopic creates the positions topic if it does not exist:
// compacted, one partition.
func (s *DeadSet) ensurePositionsTopic(ctx context.Context, cl *kgo.Client) error {
	topic := s.cfg.PositionsTopic
	compact := "compact"
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, s.cfg.ReplicationFactor, map[string]*string{"cleanup.policy": &compact}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("deadletter: create positions topic %q: %w", topic, err)
	}
	return nil
}

// scan reads partition p of topic from offset from up to offset to
// (exclusive), read_committed, and calls fn with each record that is not a
// transaction marker, in offset order, until fn returns false. It returns
// the offset after the last record it read: to when it read them all.
//
// The last offset before a last stable offset always holds a record (a
// committed one or a transaction marker), unless compaction or retention
// removed it, which they do not do in a partition's active segment.
func scan(ctx context.Context, cl *kgo.Client, topic string, p int32, from, to int64, fn func(*kgo.Record) bool) (int64, error) {
	if from >= to {
		return max(from, to), nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().At(from)}})
	defer cl.RemoveConsumePartitions(map[string][]int32{topic: {p}})
	next := from
	for {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return next, err
		}
		var errs []error
		fetches.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("fetch %s[%d]: %w", t, p, err))
		})
		if len(errs) > 0 {
			return next, errors.Join(errs...)
		}
		done := false
		fetches.EachRecord(func(r *kgo.Record) {
			if done || r.Topic != topic || r.Partition != p || r.Offset < next {
				return
			}
			if r.Offset >= to {
				next, done = to, true
				return
			}
			next = r.Offset + 1
			if !r.Attrs.IsControl() && !fn(r) {
				done = true
			}
			if next >= to {
				done = true
			}
		})
		if done {
			return next, nil
		}
	}
}
