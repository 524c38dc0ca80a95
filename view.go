package strata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/metric"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// ViewConfig configures a View. Fields left zero take the documented
// default; NewView validates them and names the first bad field.
type ViewConfig struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string

	// Topic is the topic the view copies, every partition of it. By
	// default its records are a table's rows, as for ktable.Global: a
	// record sets its key's row, a null value deletes it, and null keys
	// are passed over. Required.
	Topic string

	// Changelog says that Topic is the changelog of a key-value store of
	// the DSL (an aggregation's, a table's), whose values are Kafka
	// Streams' ValueAndTimestamp encoding: 8 bytes of timestamp, then the
	// value. The changelog of store of application app is
	// ChangelogTopic(app, store).
	Changelog bool

	// Name names the view: the store queries read
	// (query.KeyValue[K, V](view, Name)), its state directory
	// StateDir/<Name>, and its logs. It may use ASCII letters, digits,
	// '.', '_' and '-'. Default: Topic.
	Name string

	// StateDir is where the view keeps its copy, in Pebble, under
	// StateDir/<Name>, which it locks. Default: "strata" in
	// os.TempDir().
	StateDir string

	// CommitInterval is how often the view checkpoints how far it has
	// read, so that a restart reads only what follows. Default 5s.
	CommitInterval time.Duration

	// OnBadRecord says what happens to a record whose key or value cannot
	// be decoded: topology.BadRecordFail (the default) stops Run with an
	// error naming it; topology.BadRecordSkip logs, counts and skips it.
	OnBadRecord topology.BadRecordPolicy

	// StateListener, RestoreListener, Logger, MeterProvider and
	// ClientOptions are as in Config. The view's State goes from Created
	// through Rebalancing (restoring its copy) to Running, then
	// PendingShutdown and NotRunning, or Error.
	StateListener   func(newState, oldState State)
	RestoreListener RestoreListener
	Logger          *slog.Logger
	MeterProvider   metric.MeterProvider
	ClientOptions   []kgo.Opt
}

// View is a local, queryable, read-only copy of a table, kept up to date,
// by a process that is not part of the application writing it: goka's View,
// on Kafka Streams' global-table machinery. It reads every partition of
// its topic, read_committed, outside any consumer group: before Run's first
// answer it restores its copy up to the topic's last stable offsets, from
// where its checkpoint in its state directory says it stopped, then it
// applies updates as they arrive, as an App keeps its global tables.
//
// Query it with package query, as an App: query.KeyValue[K, V](view, name)
// reads the values alone, query.KeyValue[K, state.Timestamped[V]] their
// timestamps too. Reads are safe from any goroutine while the view updates
// and see every update applied so far; Sync waits for the updates the topic
// holds now.
type View struct {
	app   *App
	name  string
	topic string

	global atomic.Pointer[globalThread]
	mu     sync.Mutex
	// next is, by partition, the offset after the last record applied.
	next map[int32]int64
	// moved is closed, and replaced, when next moves.
	moved chan struct{}
}

// NewView returns a view of cfg.Topic, whose keys keySerde and values
// valueSerde decode. Run it to fill it and keep it up to date.
func NewView[K, V any](cfg ViewConfig, keySerde serde.Serde[K], valueSerde serde.Serde[V]) (*View, error) {
	bad := func(field, format string, args ...any) (*View, error) {
		return nil, fmt.Errorf("%w: ViewConfig.%s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if cfg.Topic == "" {
		return bad("Topic", "must not be empty")
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Topic
	}
	if err := checkTopicName(cfg.Name, 200); err != nil {
		return bad("Name", "%v", err)
	}
	if keySerde == nil || valueSerde == nil {
		return nil, fmt.Errorf("%w: NewView: key and value serdes are required", ErrInvalidConfig)
	}
	if cfg.OnBadRecord == topology.BadRecordDeadLetter {
		return bad("OnBadRecord", "a view writes no dead-letter topic: use BadRecordFail or BadRecordSkip")
	}
	b := topology.NewBuilder()
	if cfg.Changelog {
		addChangelogView(b, cfg.Name, cfg.Topic, keySerde, valueSerde)
	} else {
		ktable.Global(b, cfg.Topic, keySerde, valueSerde, ktable.Named(cfg.Name))
	}
	top, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("strata: view %q: %w", cfg.Name, err)
	}
	a, err := New(top, Config{
		ApplicationID:   cfg.Name,
		Brokers:         cfg.Brokers,
		StateDir:        cfg.StateDir,
		CommitInterval:  cfg.CommitInterval,
		OnBadRecord:     cfg.OnBadRecord,
		StateListener:   cfg.StateListener,
		RestoreListener: cfg.RestoreListener,
		Logger:          cfg.Logger,
		MeterProvider:   cfg.MeterProvider,
		ClientOptions:   cfg.ClientOptions,
	})
	if err != nil {
		return nil, err
	}
	v := &View{app: a, name: cfg.Name, topic: cfg.Topic, next: map[int32]int64{}, moved: make(chan struct{})}
	a.onGlobalProgress = v.progress
	return v, nil
}

// ChangelogTopic is the name of the changelog of store of the application
// applicationID, as Kafka Streams names it: "<applicationID>-<store>-changelog".
func ChangelogTopic(applicationID, store string) string {
	return engine.ChangelogTopic(applicationID, store)
}

// addChangelogView declares a global store called name fed by the changelog
// topic of a DSL key-value store: its values, timestamped, are stored as
// they are, in restoration as in updates.
func addChangelogView[K, V any](b *topology.Builder, name, topic string, ks serde.Serde[K], vs serde.Serde[V]) {
	ts := state.TimestampedSerde(vs)
	state.AddKeyValueStore(b, name, ks, ts, state.Logging(false), state.Caching(false))
	topology.AddGlobalStore(b, name, name+"-source", topology.Source[K, state.Timestamped[V]]{Topics: []string{topic}, KeySerde: ks, ValueSerde: ts},
		name+"-update", func() topology.Processor[K, state.Timestamped[V], K, state.Timestamped[V]] {
			return &changelogUpdate[K, V]{store: name}
		})
}

// changelogUpdate applies a changelog's records to a view's store.
type changelogUpdate[K, V any] struct {
	ctx   topology.Context[K, state.Timestamped[V]]
	store string
	rows  state.KeyValueStore[K, state.Timestamped[V]]
}

func (p *changelogUpdate[K, V]) Init(ctx topology.Context[K, state.Timestamped[V]]) error {
	p.ctx = ctx
	var err error
	p.rows, err = state.LookupKeyValue[K, state.Timestamped[V]](ctx, p.store)
	return err
}

func (p *changelogUpdate[K, V]) Process(r topology.Record[K, state.Timestamped[V]]) error {
	switch {
	case r.HasNullKey():
		p.ctx.SkipRecord("null key in a changelog")
		return nil
	case r.IsTombstone():
		return p.rows.Delete(r.Key)
	}
	return p.rows.Put(r.Key, r.Value)
}

func (p *changelogUpdate[K, V]) Close() error { return nil }

// Name is the view's name, the name of the store queries read.
func (v *View) Name() string { return v.name }

// State returns the view's state.
func (v *View) State() State { return v.app.State() }

// QuerySource makes the view a query.Source. Call the functions of package
// query rather than this.
func (v *View) QuerySource() iq.Source { return v.app.QuerySource() }

// Run fills the view and keeps it up to date until ctx is cancelled, then
// checkpoints it and returns nil; or until reading the topic fails, and
// returns the error. The view is Running, and answers queries, once its
// copy is restored. A view runs once.
func (v *View) Run(ctx context.Context) error {
	a := v.app
	if !a.started.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	a.state.start(0)
	stopWatch := a.state.watch(ctx)
	err := v.run(ctx)
	stopWatch()
	a.state.stopped(err)
	return err
}

func (v *View) run(ctx context.Context) error {
	in, err := openInstance(ctx, v.app)
	if err != nil {
		if ctx.Err() != nil {
			return nil // cancelled while restoring: a clean stop
		}
		return err
	}
	v.global.Store(in.global)
	v.app.live.Store(in.queries)
	v.app.state.set(Running)
	select {
	case <-ctx.Done():
	case <-in.global.done:
		err = in.global.Err()
	}
	v.app.live.Store(nil)
	v.global.Store(nil)
	return errors.Join(err, in.close(err == nil))
}

// progress is the global thread's report of how far it has applied each
// partition.
func (v *View) progress(next map[topicPartition]int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for tp, off := range next {
		v.next[tp.partition] = off
	}
	close(v.moved)
	v.moved = make(chan struct{})
}

// Sync waits until the view has applied every record its topic holds now,
// committed (up to each partition's last stable offset): after a producer's
// write is acknowledged, Sync makes the view show it. It returns ctx's error
// if ctx ends first, and one wrapping query.ErrNotRunning if the view does
// not run.
func (v *View) Sync(ctx context.Context) error {
	g := v.global.Load()
	if g == nil {
		return fmt.Errorf("view %q: %w", v.name, iq.ErrNotRunning)
	}
	ends, err := kadm.NewClient(g.cl).ListCommittedOffsets(ctx, v.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("view %q: list the end offsets of %q: %w", v.name, v.topic, err)
	}
	for {
		v.mu.Lock()
		behind := false
		ends.Each(func(o kadm.ListedOffset) {
			behind = behind || v.next[o.Partition] < o.Offset
		})
		moved := v.moved
		v.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("view %q: %w", v.name, ctx.Err())
		}
		if v.global.Load() == nil {
			return fmt.Errorf("view %q: %w", v.name, iq.ErrNotRunning)
		}
	}
}
