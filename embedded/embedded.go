// Package embedded starts an in-process Kafka-protocol broker (franz-go's
// kfake) on loopback, for tests, examples and local development.
//
// A [Cluster] is a set of fake brokers in the current process, listening on
// 127.0.0.1 on random ports unless told otherwise. Any Kafka client can
// connect to [Cluster.Addrs]; the helpers [Cluster.Client], [Cluster.Produce]
// and [Cluster.Consume] make the common cases one line each:
//
//	c, err := embedded.Start(ctx, embedded.Config{
//		Topics: []embedded.Topic{{Name: "orders", Partitions: 3}},
//	})
//	if err != nil { ... }
//	defer c.Close()
//	err = c.Produce(ctx, &kgo.Record{Topic: "orders", Value: []byte("v")})
//	recs, err := c.Consume(ctx, "orders", 1)
//
// In tests, [StartForTest] does the same and registers Close as a cleanup.
//
// The brokers keep everything in memory and lose it on Close. They support
// consumer groups (both the classic protocol and KIP-848), idempotent and
// transactional producers, and log compaction. [Cluster.Kfake] exposes the
// underlying kfake cluster for fault injection and other control.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Defaults applied by [Start] to zero fields of [Config].
const (
	// DefaultBrokers is the number of brokers started when
	// Config.Brokers is zero.
	DefaultBrokers = 1

	// DefaultPartitions is the partition count used when
	// Config.DefaultPartitions is zero.
	DefaultPartitions = 1

	// DefaultGroupSessionTimeout is the KIP-848 consumer group session
	// timeout used when Config.GroupSessionTimeout is zero. It is much
	// lower than Kafka's 45s so that tests of member failure are fast.
	DefaultGroupSessionTimeout = 6 * time.Second

	// DefaultGroupHeartbeatInterval is the KIP-848 consumer group
	// heartbeat interval used when Config.GroupHeartbeatInterval is zero.
	// It is much lower than Kafka's 5s so that rebalances complete
	// quickly.
	DefaultGroupHeartbeatInterval = 500 * time.Millisecond
)

// classicMinSessionTimeout is kfake's (and Kafka's) default
// group.min.session.timeout.ms.
const classicMinSessionTimeout = 6 * time.Second

// ErrClosed is returned by the methods of a [Cluster] that has been closed.
var ErrClosed = errors.New("embedded: cluster is closed")

// Config configures [Start]. The zero value is a usable single-broker
// cluster with no topics.
type Config struct {
	// Brokers is the number of brokers to start. Zero means
	// DefaultBrokers (1); negative values are an error.
	Brokers int

	// Topics are created by Start, after the brokers are listening, with
	// the same rules as [Cluster.CreateTopics]. A topic listed twice is
	// an error.
	Topics []Topic

	// DefaultPartitions is the partition count of a [Topic] whose
	// Partitions is zero, and of topics created by other clients with
	// the broker default (-1) or auto-created (if enabled through
	// Options). Zero means DefaultPartitions (1); negative values are an
	// error.
	DefaultPartitions int32

	// GroupSessionTimeout is the broker's session timeout for KIP-848
	// consumer groups (group.consumer.session.timeout.ms): a member that
	// has not heartbeated for this long is removed and its partitions
	// are reassigned. Zero means DefaultGroupSessionTimeout (6s);
	// negative values are an error.
	//
	// Members of classic consumer groups choose their own session
	// timeout (kgo.SessionTimeout, default 45s). The broker accepts any
	// value from min(6s, GroupSessionTimeout) up to 5 minutes
	// (group.min.session.timeout.ms and group.max.session.timeout.ms), so
	// lowering GroupSessionTimeout also lets classic members use an
	// equally short session timeout.
	GroupSessionTimeout time.Duration

	// GroupHeartbeatInterval is the heartbeat interval the broker tells
	// KIP-848 consumer group members to use
	// (group.consumer.heartbeat.interval.ms). Zero means
	// DefaultGroupHeartbeatInterval (500ms); negative values are an
	// error, and so is a value not below the session timeout.
	GroupHeartbeatInterval time.Duration

	// Logger receives the brokers' log lines: kfake's error, warning,
	// info and debug levels map to the slog levels of the same names.
	// Nil discards them.
	Logger *slog.Logger

	// DataDir, if set, is where the brokers keep their state (topics and
	// their records, committed offsets, groups, producer IDs and
	// transactions), so that [Cluster.Restart] brings the cluster back
	// as [Cluster.Stop] left it, as a real cluster comes back from an
	// outage. Empty means memory only: the state is lost on Stop, and
	// Restart is an error.
	DataDir string

	// Options are extra kfake options, for example kfake.Ports to listen
	// on fixed ports or kfake.AllowAutoTopicCreation. They are applied
	// after the options derived from the fields above, so they take
	// precedence over them.
	Options []kfake.Opt
}

// Topic describes a topic to create.
type Topic struct {
	// Name is the topic name. It must not be empty.
	Name string

	// Partitions is the number of partitions. Zero means the cluster's
	// Config.DefaultPartitions; negative values are an error.
	Partitions int32

	// Configs are topic configs such as "cleanup.policy": "compact". Nil
	// means the broker defaults.
	Configs map[string]*string
}

// Cluster is a running in-process Kafka-protocol cluster. Its methods are
// safe for concurrent use.
type Cluster struct {
	// mu guards fake, which Restart replaces, and stopped.
	mu      sync.Mutex
	fake    *kfake.Cluster
	stopped bool
	// opts start the brokers again on Restart: the same options, ports
	// and data directory.
	opts    []kfake.Opt
	dataDir string
	addrs   []string
	parts   int32

	// cl is a shared client for administration and Produce; it is
	// closed by Close.
	cl  *kgo.Client
	adm *kadm.Client

	closed    atomic.Bool
	closeOnce sync.Once
}

// Start validates cfg, starts the brokers and creates cfg.Topics. ctx bounds
// the topic creation only; the brokers run until [Cluster.Close]. On error,
// everything started is stopped again.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embedded: start: %w", err)
	}
	cfg.setDefaults()
	if cfg.GroupHeartbeatInterval >= cfg.GroupSessionTimeout {
		return nil, fmt.Errorf("embedded: Config.GroupHeartbeatInterval (%v) must be below Config.GroupSessionTimeout (%v)",
			cfg.GroupHeartbeatInterval, cfg.GroupSessionTimeout)
	}

	opts := []kfake.Opt{
		kfake.NumBrokers(cfg.Brokers),
		kfake.DefaultNumPartitions(int(cfg.DefaultPartitions)),
		kfake.GroupMinSessionTimeout(min(classicMinSessionTimeout, cfg.GroupSessionTimeout)),
		kfake.BrokerConfigs(map[string]string{
			"group.consumer.session.timeout.ms":    strconv.FormatInt(cfg.GroupSessionTimeout.Milliseconds(), 10),
			"group.consumer.heartbeat.interval.ms": strconv.FormatInt(cfg.GroupHeartbeatInterval.Milliseconds(), 10),
		}),
	}
	if cfg.Logger != nil {
		opts = append(opts, kfake.WithLogger(slogLogger{cfg.Logger}))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	opts = append(opts, cfg.Options...)

	fake, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("embedded: start kfake: %w", err)
	}
	c := &Cluster{
		fake:    fake,
		dataDir: cfg.DataDir,
		addrs:   fake.ListenAddrs(),
		parts:   cfg.DefaultPartitions,
	}
	ports, err := listenPorts(c.addrs)
	if err != nil {
		fake.Close()
		return nil, err
	}
	// Restarted brokers listen where these did; kfake.Ports given in
	// cfg.Options, applied later, would say the same.
	c.opts = append(append([]kfake.Opt(nil), opts...), kfake.Ports(ports...))
	c.cl, err = kgo.NewClient(kgo.SeedBrokers(c.addrs...))
	if err != nil {
		fake.Close()
		return nil, fmt.Errorf("embedded: start admin client: %w", err)
	}
	c.adm = kadm.NewClient(c.cl)
	if len(cfg.Topics) > 0 {
		if err := c.CreateTopics(ctx, cfg.Topics...); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// StartForTest is [Start] for tests: it fails tb on error, bounds topic
// creation by tb's context and 30 seconds, and closes the cluster when the
// test and its subtests finish.
func StartForTest(tb testing.TB, cfg Config) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

func (cfg *Config) validate() error {
	var errs []error
	if cfg.Brokers < 0 {
		errs = append(errs, fmt.Errorf("embedded: Config.Brokers must not be negative, got %d", cfg.Brokers))
	}
	if cfg.DefaultPartitions < 0 {
		errs = append(errs, fmt.Errorf("embedded: Config.DefaultPartitions must not be negative, got %d", cfg.DefaultPartitions))
	}
	if cfg.GroupSessionTimeout < 0 {
		errs = append(errs, fmt.Errorf("embedded: Config.GroupSessionTimeout must not be negative, got %v", cfg.GroupSessionTimeout))
	}
	if cfg.GroupHeartbeatInterval < 0 {
		errs = append(errs, fmt.Errorf("embedded: Config.GroupHeartbeatInterval must not be negative, got %v", cfg.GroupHeartbeatInterval))
	}
	if err := validateTopics("Config.Topics", cfg.Topics); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (cfg *Config) setDefaults() {
	if cfg.Brokers == 0 {
		cfg.Brokers = DefaultBrokers
	}
	if cfg.DefaultPartitions == 0 {
		cfg.DefaultPartitions = DefaultPartitions
	}
	if cfg.GroupSessionTimeout == 0 {
		cfg.GroupSessionTimeout = DefaultGroupSessionTimeout
	}
	if cfg.GroupHeartbeatInterval == 0 {
		cfg.GroupHeartbeatInterval = DefaultGroupHeartbeatInterval
	}
}

// validateTopics checks names, partition counts and duplicates; field names
// the list in error messages.
func validateTopics(field string, topics []Topic) error {
	var errs []error
	seen := make(map[string]bool, len(topics))
	for i, t := range topics {
		switch {
		case t.Name == "":
			errs = append(errs, fmt.Errorf("embedded: %s[%d].Name must not be empty", field, i))
		case seen[t.Name]:
			errs = append(errs, fmt.Errorf("embedded: %s lists topic %q more than once", field, t.Name))
		}
		seen[t.Name] = true
		if t.Partitions < 0 {
			errs = append(errs, fmt.Errorf("embedded: %s[%d].Partitions (topic %q) must not be negative, got %d",
				field, i, t.Name, t.Partitions))
		}
	}
	return errors.Join(errs...)
}

// Addrs returns the brokers' "host:port" addresses, for use as seed brokers
// (kgo.SeedBrokers). They are the brokers started by Start; brokers added
// later through Kfake are found by clients through metadata.
func (c *Cluster) Addrs() []string {
	return append([]string(nil), c.addrs...)
}

// Client returns a new kgo client seeded with [Cluster.Addrs], with opts
// applied after the seeds. The caller must close it.
func (c *Cluster) Client(opts ...kgo.Opt) (*kgo.Client, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.addrs...)}, opts...)...)
}

// Admin returns an admin client for the cluster. It shares a kgo client
// owned by the Cluster: do not close it; [Cluster.Close] does.
func (c *Cluster) Admin() *kadm.Client {
	return c.adm
}

// Kfake returns the underlying kfake cluster, for fault injection
// (Control, ControlKey), partition moves, adding and removing brokers, and
// triggering compaction or retention. After [Cluster.Restart] it returns
// the restarted cluster: interceptors installed with Control on the old one
// are gone.
//
// Calling kfake's Compact while a transaction is open on a compacted topic
// can corrupt that topic; commit or abort transactions first.
func (c *Cluster) Kfake() *kfake.Cluster {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fake
}

// Stop stops the brokers as an outage would: they stop listening and drop
// their connections, so clients see their requests fail and their
// connections refused, until [Cluster.Restart]. With Config.DataDir set,
// the brokers' state is saved there first. Stop is a no-op on a stopped or
// closed cluster.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.closed.Load() {
		return
	}
	c.stopped = true
	c.fake.Close()
}

// Restart starts the brokers of a stopped cluster again, on the same
// addresses, with the state Stop saved in Config.DataDir: topics and
// records, committed offsets, groups and transactions come back, and
// clients reconnect. It is an error without Config.DataDir, on a running
// cluster and on a closed one.
func (c *Cluster) Restart() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed.Load():
		return ErrClosed
	case !c.stopped:
		return errors.New("embedded: restart: the cluster is running; Stop it first")
	case c.dataDir == "":
		return errors.New("embedded: restart: Config.DataDir is empty, so the stopped brokers kept nothing to restart with")
	}
	fake, err := kfake.NewCluster(c.opts...)
	if err != nil {
		return fmt.Errorf("embedded: restart kfake on %v: %w", c.addrs, err)
	}
	c.fake, c.stopped = fake, false
	return nil
}

// listenPorts returns the ports of host:port addresses.
func listenPorts(addrs []string) ([]int, error) {
	ports := make([]int, 0, len(addrs))
	for _, a := range addrs {
		_, p, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("embedded: broker address %q: %w", a, err)
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("embedded: broker address %q: %w", a, err)
		}
		ports = append(ports, port)
	}
	return ports, nil
}

// CreateTopics creates topics in one request. A Topic with zero Partitions
// gets the cluster's Config.DefaultPartitions; the replication factor is the
// broker default, min(3, brokers).
//
// Every topic is attempted. If any fails, the returned error names each
// failed topic and wraps the broker's error, so for example
// errors.Is(err, kerr.TopicAlreadyExists) reports that a topic already
// existed; the other topics are still created. Creating an existing topic
// is an error rather than a no-op so that a test cannot silently pick up
// records or configs from an earlier use of the same name.
func (c *Cluster) CreateTopics(ctx context.Context, topics ...Topic) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if err := validateTopics("topics", topics); err != nil {
		return err
	}
	if len(topics) == 0 {
		return nil
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 15000
	for _, t := range topics {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic = t.Name
		rt.NumPartitions = t.Partitions
		if rt.NumPartitions == 0 {
			rt.NumPartitions = c.parts
		}
		rt.ReplicationFactor = -1
		for k, v := range t.Configs {
			rc := kmsg.NewCreateTopicsRequestTopicConfig()
			rc.Name = k
			rc.Value = v
			rt.Configs = append(rt.Configs, rc)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return fmt.Errorf("embedded: create topics: %w", err)
	}
	answered := make(map[string]bool, len(resp.Topics))
	var errs []error
	for _, rt := range resp.Topics {
		answered[rt.Topic] = true
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			msg := ""
			if rt.ErrorMessage != nil && *rt.ErrorMessage != "" {
				msg = " (" + *rt.ErrorMessage + ")"
			}
			errs = append(errs, fmt.Errorf("embedded: create topic %q: %w%s", rt.Topic, err, msg))
		}
	}
	for _, t := range topics {
		if !answered[t.Name] {
			errs = append(errs, fmt.Errorf("embedded: create topic %q: missing from the broker's response", t.Name))
		}
	}
	return errors.Join(errs...)
}

// Produce synchronously produces recs through the Cluster's shared client,
// with kgo's defaults: idempotent, acks from all in-sync replicas, and the
// default partitioner, which hashes keys like Kafka's Java client. Each record must name its Topic. It returns the first
// record error, after all records have been acknowledged or failed.
func (c *Cluster) Produce(ctx context.Context, recs ...*kgo.Record) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if err := c.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("embedded: produce: %w", err)
	}
	return nil
}

// Consume reads topic from the start of every partition, with a fresh
// client that belongs to no consumer group and reads with isolation level
// read_committed (so records of open transactions are withheld and those
// of aborted ones skipped). It returns once it has want records, never
// more, in the order fetched: per partition in offset order, across
// partitions in no particular order.
//
// Fetch errors are retried, and a topic that does not exist yet is waited
// for. If ctx is done first, Consume returns the records it has together
// with an error that wraps ctx's error and mentions the last fetch error. A want of
// zero returns at once; a negative want is an error.
func (c *Cluster) Consume(ctx context.Context, topic string, want int) ([]*kgo.Record, error) {
	if want < 0 {
		return nil, fmt.Errorf("embedded: consume %q: want must not be negative, got %d", topic, want)
	}
	if want == 0 {
		return nil, nil
	}
	cl, err := c.Client(
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Find a topic created after we start quickly.
		kgo.MetadataMinAge(100*time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("embedded: consume %q: %w", topic, err)
	}
	defer cl.Close()

	recs := make([]*kgo.Record, 0, want)
	var lastErr error
	for len(recs) < want {
		fetches := cl.PollRecords(ctx, want-len(recs))
		recs = append(recs, fetches.Records()...)
		if err := ctx.Err(); err != nil {
			n := min(len(recs), want)
			if lastErr != nil {
				err = fmt.Errorf("%w (last fetch error: %v)", err, lastErr)
			}
			return recs[:n], fmt.Errorf("embedded: consume %q: got %d of %d records: %w", topic, n, want, err)
		}
		// The client retries fetch errors itself; remember the last
		// one to explain a timeout.
		fetches.EachError(func(_ string, _ int32, err error) { lastErr = err })
	}
	return recs[:want], nil
}

// Close stops the brokers and the shared client. It is idempotent; methods
// called afterwards return [ErrClosed]. Clients made with [Cluster.Client]
// are not closed.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.closed.Store(true)
		c.cl.Close()
		if !c.stopped {
			c.fake.Close()
		}
	})
}

// slogLogger adapts a *slog.Logger to kfake.Logger.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var sl slog.Level
	switch level {
	case kfake.LogLevelError:
		sl = slog.LevelError
	case kfake.LogLevelWarn:
		sl = slog.LevelWarn
	case kfake.LogLevelInfo:
		sl = slog.LevelInfo
	case kfake.LogLevelDebug:
		sl = slog.LevelDebug
	default:
		return
	}
	ctx := context.Background()
	if !s.l.Enabled(ctx, sl) {
		return
	}
	s.l.Log(ctx, sl, fmt.Sprintf(format, args...))
}
