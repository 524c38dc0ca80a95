package strata

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/topology"
)

// ErrInvalidConfig is wrapped by every configuration error. Test for it with
// errors.Is; the message names the field.
var ErrInvalidConfig = errors.New("strata: invalid config")

// Guarantee is a processing guarantee.
type Guarantee int

const (
	// AtLeastOnce, the default as in Kafka Streams: output is acknowledged
	// before the input offsets that caused it are committed, so a crash
	// may repeat output but never loses it. It is the default because it
	// needs nothing of the brokers and costs least.
	AtLeastOnce Guarantee = iota
	// ExactlyOnce makes each input record's effects (output records,
	// changelog writes) and its input offset one Kafka transaction, as
	// Kafka Streams' exactly_once_v2: consumers reading read_committed
	// see every input's effect once, even across crashes and rebalances.
	ExactlyOnce
)

func (g Guarantee) String() string {
	switch g {
	case AtLeastOnce:
		return "at-least-once"
	case ExactlyOnce:
		return "exactly-once"
	}
	return fmt.Sprintf("Guarantee(%d)", int(g))
}

// Config configures an App. Fields left zero take the documented default;
// New validates the whole struct once and names the first bad field.
type Config struct {
	// ApplicationID identifies the application: it is the consumer
	// group's ID and the prefix of internal topic names. Required; it
	// may use ASCII letters, digits, '.', '_' and '-', at most 200
	// characters, as Kafka topic names allow.
	ApplicationID string

	// Brokers are the seed brokers, each "host:port" with a port from 1
	// to 65535 ("[::1]:9092" for an IPv6 address), checked by New.
	// Required.
	Brokers []string

	// Guarantee selects at-least-once (the default) or exactly-once
	// processing.
	//
	// Under exactly-once, one transaction covers everything processed
	// in a CommitInterval: the output, the changelog writes and the
	// input offsets commit together. A rebalance waits until the open
	// transaction has committed, which the worker then does at once, so
	// none lands inside a transaction. If a transaction aborts, the tasks' local
	// state is wiped and restored from the changelogs, and the records
	// are processed again. An unclean stop leaves no checkpoint, so the
	// next start restores from the changelogs too. If another producer
	// fences the worker's transactional ID, the worker drops its tasks'
	// uncommitted state, initialises its producer again and rejoins the
	// group (see ErrFenced).
	Guarantee Guarantee

	// InstanceID identifies this instance among the application's
	// instances. Keep it stable across restarts of one instance, and
	// unique among the instances running at once: ASCII letters,
	// digits, '.', '_' and '-', at most 240 characters. Default: the
	// host name and a hash of the absolute StateDir.
	//
	// Set, it makes each worker a static member of the consumer group
	// (Kafka's group.instance.id, KIP-345), with the group instance ID
	// InstanceID (worker 0) or "<InstanceID>-<i>" (worker i). A restart
	// within the group's session timeout then takes the stopped
	// member's place and its tasks at once, without waiting for the
	// session to expire, and without a rebalance where the coordinator
	// sees no change (Kafka's, while the group is stable); after a clean
	// stop the tasks' state is still on disk, checkpointed, and nothing
	// is restored. The trade-off: a static member does not leave the
	// group when it stops, even cleanly (its client sends no
	// LeaveGroup), so the tasks of an instance that stops for good move
	// to the others only when its session times out (45s, franz-go's
	// default; kgo.SessionTimeout in ClientOptions sets it), and a
	// rebalance that starts meanwhile waits for it as long. A worker
	// that stops while the group rebalances leaves it, so as not to
	// hold the rebalance up. Set LeaveGroupOnStop where an instance
	// stops for good, to scale in. Two instances running with one
	// InstanceID fence each other's membership.
	//
	// With the default, workers are dynamic members, as in Kafka Streams
	// without group.instance.id, and leave the group as they stop: a
	// host name can change with every deployment (a Kubernetes
	// Deployment's pods), which would leave a static member behind each
	// time, and stateless instances on one host may share the default.
	//
	// Under exactly-once worker 0's transactional ID is
	// "<ApplicationID>-<InstanceID>" and worker i's
	// "<ApplicationID>-<InstanceID>-<i>", so that a restarted instance
	// fences its predecessor's producer.
	InstanceID string

	// ApplicationServer is the "host:port" at which this instance serves
	// interactive queries (package query's HTTP handler), Kafka Streams'
	// application.server. Every instance sends it to the group's leader,
	// which sends every member the whole map of instances, their servers
	// and the partitions they hold, so that any instance can tell where a
	// key lives (query.Instances, KeyMetadata) and forward a query there.
	// Default "": the instance advertises no server.
	ApplicationServer string
	// LeaveGroupOnStop makes each worker's static member (see
	// InstanceID) leave the consumer group, by a LeaveGroup request
	// for its instance ID, when Run returns, cleanly or on an error,
	// so that its tasks move to the other instances at once rather
	// than when its session times out: for an instance stopping for
	// good (scaling in), as Kafka Streams'
	// KafkaStreams.close(CloseOptions.leaveGroup(true)) (KIP-812). The
	// instance's next start joins as a new member, with a rebalance.
	// Default false: a restart resumes the member. Dynamic members
	// always leave.
	LeaveGroupOnStop bool

	// Workers is how many workers this instance runs, Kafka Streams'
	// num.stream.threads. Each worker is a member of the consumer group
	// with its own Kafka client, tasks, goroutine, transactional
	// producer under exactly-once, and an equal share of CacheMaxBytes;
	// the workers share the state directory, StateMemoryBytes and the
	// metrics. Tasks are balanced over all members of the group, so a
	// worker is as much a unit of parallelism as an instance. Default 1;
	// at most 256 (MaxWorkers).
	Workers int

	// StandbyReplicas is how many standby replicas of each stateful
	// task (one with a persistent, logged store) the application keeps,
	// Kafka Streams' num.standby.replicas: copies of the task's state on
	// instances other than the one running it (never on the same
	// InstanceID), kept warm by tailing the changelogs, read_committed.
	// When the task moves, it goes preferably to the instance whose copy
	// is the least behind, which then restores only the changelog's
	// tail. The group leader's setting applies; give every instance the
	// same. A task has fewer replicas while there are too few other
	// instances. Default 0.
	StandbyReplicas int

	// CommitInterval is how often a worker commits. Under at-least-once
	// a commit flushes the output and then commits the input offsets of
	// what was processed; default 5s (Kafka Streams: 30s; a commit is
	// cheap, one flush and one request, and a shorter interval leaves
	// less to reprocess after a crash). Under exactly-once it ends the
	// open transaction, which makes its output visible to read_committed
	// consumers; default 100ms, as in Kafka Streams.
	CommitInterval time.Duration

	// MaxTaskIdle is Kafka Streams' max.task.idle.ms, in part. A task
	// reading several partitions (a join's or a merge's inputs)
	// processes their records in timestamp order; with the default, 0,
	// it holds its buffered records back while one of its partitions has
	// none buffered but is known to hold more (its fetched position is
	// below the partition's last stable offset), so that a stream-table
	// join sees a table update that precedes a stream record. Records
	// held back are not committed (under either guarantee a commit
	// covers what the tasks processed, not what was polled); a task
	// that has waited 5s processes what it holds anyway, as Kafka
	// Streams' enforced processing does. A negative value never holds a
	// task back. Positive values, with which Kafka
	// Streams also waits that long on partitions that are caught up, are
	// not supported.
	MaxTaskIdle time.Duration

	// PollTimeout bounds how long a poll waits for records, and so how
	// late a commit or a wall-clock punctuation can run while input is
	// idle. Default 100ms.
	PollTimeout time.Duration

	// MaxPollRecords bounds the records taken from the consumer per loop
	// iteration. Default 10000.
	MaxPollRecords int

	// FetchMaxBytes bounds the bytes of records that one fetch from a
	// broker returns (Kafka's consumer setting fetch.max.bytes), for
	// every consumer of the instance: of the inputs, of changelogs being
	// restored, of standby tasks and of global tables. Each consumer
	// keeps at most one fetch per broker buffered until the loop has
	// taken all its records, and a fetched record takes memory well
	// beyond its compressed bytes (its decompressed batch, and a
	// kgo.Record of about 200 bytes), so this and FetchMaxPartitionBytes
	// bound the memory of records fetched and not yet processed: see
	// docs/operations.md, "Memory". A broker returns a batch larger than
	// the bound whole. Default 2 MiB (Kafka's is 50 MiB); at most
	// 1 GiB. ClientOptions may override it.
	FetchMaxBytes int32

	// FetchMaxPartitionBytes bounds the bytes of records one fetch
	// returns per partition (Kafka's max.partition.fetch.bytes). It may
	// not exceed FetchMaxBytes. Default 1 MiB, as Kafka's, which holds a
	// whole batch of Kafka's and franz-go's default largest (1000012
	// bytes), or FetchMaxBytes if that is less. ClientOptions may
	// override it.
	//
	// A fetch that finds less than a record waits at most 500ms on the
	// broker (Kafka's fetch.max.wait.ms; franz-go's default is 5s), which
	// bounds how late a partition resumed after a pause is fetched again;
	// ClientOptions may override it with kgo.FetchMaxWait.
	FetchMaxPartitionBytes int32

	// MaxInFlight bounds the records that concurrent and batch outcome
	// handlers (topology.Handler.Concurrency, topology.AddBatchHandler;
	// kstream's WithConcurrency, HandleBatch) of the instance hold at
	// once, across its tasks and workers: at the bound, a task with such
	// a handler takes no more records, and once it has MaxPollRecords
	// records buffered its partitions are paused until records finish.
	// Each handler also has its own bound per task. It may
	// be passed by one record per worker (Workers). Default 10000;
	// negative for no bound.
	MaxInFlight int

	// OnBadRecord says what happens to input records whose key or value
	// cannot be deserialized or whose timestamp is invalid. Default
	// topology.BadRecordFail: Run returns an error carrying the record's
	// topic, partition and offset.
	OnBadRecord topology.BadRecordPolicy

	// OnProcessingError says what happens to a record a processor fails:
	// one whose Process returns an error of its own (a
	// topology.ProcessingError; errors a processor passes on from
	// downstream through Forward are the downstream node's). That
	// includes the DSL's processors, for instance an aggregation whose
	// store fails. Default topology.BadRecordFail: Run returns the error
	// (under exactly-once, the transaction aborts, so the record's
	// partial output is discarded, and it is processed again on the next
	// run). topology.BadRecordSkip logs and counts it
	// (Metrics.FailedRecords) and goes on with the next record;
	// topology.BadRecordDeadLetter also writes it, as read, to
	// DeadLetterTopic. With either, what the record's processing wrote
	// before the failure (state, output) stays, as in Kafka Streams.
	//
	// A panic in user code while a record is processed (a processor, a
	// DSL callback such as a mapper, aggregator or joiner, a sink's serde
	// or partitioner) is recovered and is the record's processing error
	// too: a *topology.PanicError, naming the node that panicked and the
	// record (errors.Is(err, topology.ErrPanic)), wrapped in a
	// ProcessingError, so this policy applies to it; the panic is logged
	// at ERROR with its stack. A panic in a punctuator, downstream of a
	// cache flush at commit, or in a processor's Init or Close has no
	// record: Run stops with the PanicError whatever the policy. A panic in a source's deserializer
	// or timestamp extractor makes the record a bad record (OnBadRecord),
	// as an error of theirs does.
	OnProcessingError topology.BadRecordPolicy

	// OnProductionError says what happens to an input record when an
	// output record its processing sent cannot be produced with an error
	// that producing it again cannot cure: the record is too large for
	// the brokers, or invalid (kerr.MessageTooLarge, RecordListTooLarge,
	// InvalidRecord, CorruptMessage, InvalidTimestamp). No offset is ever
	// committed past a record whose output was not written unless this
	// policy says so.
	//
	// Default topology.BadRecordFail, as Kafka Streams' default
	// production exception handler: the commit fails (under
	// exactly-once the transaction aborts, so none of it is visible), and
	// Run returns an error wrapping ErrProduction that names the output
	// topic and partition and the input record.
	//
	// With topology.BadRecordSkip or topology.BadRecordDeadLetter, under
	// exactly-once the transaction aborts, the tasks' state is rolled
	// back, and the records are processed again, except the input record
	// whose output failed: it is skipped, with none of its effects
	// (state, output), or written to DeadLetterTopic with the reason
	// "production", and the transaction commits without it. Under
	// at-least-once the failed output record is dropped, the input
	// record's other effects stay (as in Kafka Streams, whose CONTINUE
	// drops the one record), and under dead-letter the input record is
	// written to DeadLetterTopic before its offset is committed. Either
	// way it is logged and counted in Metrics.FailedRecords.
	//
	// Other production errors (the brokers unreachable past the commit's
	// bound, authorization, output sent by a cache flush or punctuation,
	// which no input record is to blame for) are not subject to the
	// policy: they fail the commit as BadRecordFail does, except that
	// unreachable brokers are waited for (see ShutdownTimeout).
	//
	// The policy also decides about an output record a sink's serializer
	// could not serialize (a topology.SerializationError), as Kafka
	// Streams' handler does since KIP-399: fail stops Run with the error;
	// skip and dead-letter end the input record's processing at that
	// sink (output it sent before stays, as with OnProcessingError) and
	// go on with the next record, dead-letter writing the input record
	// with the reason "production". A serializer's panic is a processing
	// error (OnProcessingError).
	OnProductionError topology.BadRecordPolicy

	// DeadLetterTopic is where the policy topology.BadRecordDeadLetter
	// (of OnBadRecord, OnProcessingError or OnProductionError) writes
	// records, and where outcome handlers (kstream's Stream.Handle)
	// keep their dead set (see package deadletter). The app creates
	// it at startup if it does not exist, with as many partitions as its
	// largest input topic; a record goes to the partition of its input
	// partition's number modulo the topic's count. Default
	// "<ApplicationID>-dead-letter". Setting it when no policy is
	// dead-letter and the topology has no handler is an error, as is a
	// name Kafka would refuse.
	DeadLetterTopic string

	// OnUncaughtError decides what the App does about an error that
	// stops one of its workers and that no record policy handled (a
	// record failed under the policy fail, the global stores failed, a
	// producer kept being fenced): stop this instance (StopInstance),
	// replace the worker (ReplaceWorker) or stop every instance of the
	// application (StopApplication); see UncaughtErrorAction. It is
	// called on the worker's goroutine, with the error; keep it quick.
	// Default nil: StopInstance, Run returns the error.
	OnUncaughtError func(err error) UncaughtErrorAction

	// ShutdownTimeout bounds a clean stop: once Run's context is
	// cancelled, each worker commits what it processed, waiting at most
	// this long for the brokers, then closes its tasks (checkpointing
	// them if the commit succeeded) and its clients (at most 5s more).
	// Run returns within ShutdownTimeout and a few seconds after its
	// context is cancelled, whatever the brokers do. Default 30s.
	ShutdownTimeout time.Duration

	// Logger receives the runtime's logs. Default: slog.Default().
	Logger *slog.Logger

	// StateDir is where persistent state stores keep their data, under
	// StateDir/<ApplicationID>/<task>. An instance locks its directory:
	// two instances on one machine need different StateDirs. State found
	// there that cannot be trusted (corrupt, or not matching its
	// checkpoint) is wiped and restored from the changelogs (see
	// Restoration in the package doc). Default: "strata" in os.TempDir(),
	// as Kafka Streams defaults to /tmp/kafka-streams.
	StateDir string

	// StateMemoryBytes is the memory budget of the state of this
	// instance, shared by its workers: the record cache takes
	// CacheMaxBytes of it (none with DisableCache), and Pebble the rest,
	// as one block cache shared by every persistent store, in which
	// Pebble also counts the memtables it allocates. The memtables take
	// at most half of Pebble's share: each database (one per stateful
	// task, standby replica, and the global stores) gets memtables of
	// 1/4 of that half divided by the number of databases open, counting
	// at least 8 (and between 256 KiB and 4 MiB), and holds up to two.
	// Each task's write buffer (1 MiB, at most a quarter of its
	// memtable) comes on top, as do the Kafka clients' buffers and the
	// Go runtime's overhead. See the package doc's "Memory". Default
	// 64 MiB; at least 4 MiB.
	StateMemoryBytes int64

	// CacheMaxBytes is the budget of the record cache, Kafka Streams'
	// statestore.cache.max.bytes: memory in which the stores that cache
	// (state.Caching; the DSL's aggregations) collect their updates
	// between commits, so that many updates of a key (or of a window or
	// session) become one store write, one changelog record and one
	// record downstream. Keys, values
	// (and the previous value of each key written since it was last
	// stored, kept for the flush) and a fixed overhead per entry count
	// towards it; when it is full,
	// the least recently used entries of the store being written are
	// written through and dropped. It is part of StateMemoryBytes, at
	// most half of it. Default 10 MiB, Kafka's default, or half of
	// StateMemoryBytes if that is less. As in
	// Kafka Streams, the budget is split evenly between the instance's
	// workers; the tasks of one worker share its cache. Negative is an
	// error; to turn caching off, set DisableCache.
	CacheMaxBytes int64

	// DisableCache turns the record cache off, as a budget of 0 does in
	// Kafka Streams: every store writes through, and every update reaches
	// the changelog and downstream. CacheMaxBytes must then be left zero.
	DisableCache bool

	// RestoreListener, if set, is told how state restoration progresses,
	// as Kafka Streams' StateRestoreListener. Progress is also logged at
	// INFO, at the start and end of each store's restoration, and
	// reported as the OpenTelemetry metrics strata.restore.records (a
	// counter of records restored) and strata.restore.remaining (a gauge
	// of offsets left to restore, 0 once restored), both with attributes
	// "task" and "store", to MeterProvider.
	// A global store's restoration is reported per partition of its
	// topic, with the task ID "global_<partition>" (Subtopology -1).
	RestoreListener RestoreListener

	// StateListener, if set, is told every change of the App's State,
	// with the new state and the one before, as Kafka Streams'
	// KafkaStreams.StateListener. It is called from the runtime's
	// goroutines (a worker's, or Run's), one call at a time, in the order
	// of the changes, while the caller waits: keep it quick, and do not
	// wait in it for the App (App.State may be called).
	StateListener func(newState, oldState State)

	// MeterProvider receives the app's OpenTelemetry metrics, under the
	// instrumentation scope "github.com/strata-go/strata": records
	// processed, dropped by reason and failed, per task; process,
	// punctuate, end-to-end and store latencies; polls, commits,
	// transactions and rebalances per worker; consumer lag per input
	// partition; tasks by state; restoration's progress; the record
	// cache's hits, misses, evictions and size; each with the attributes
	// "application" and "instance" and, where they apply, "worker",
	// "task", "processor", "store", "topic" and "partition".
	// docs/operations.md lists them, and those to alert on. Nothing is
	// measured per record but sampled latencies (one record in 64), so
	// metrics cost no allocation per record.
	//
	// Outcome handlers (kstream's Stream.Handle) add records by outcome,
	// the handler function's duration and retries by attempt
	// (topology.AddHandler lists them), and, while Run runs, two gauges
	// the app reads from the brokers when the metrics are collected:
	// strata.handler.retry.waiting, the records waiting in each
	// handler's retry topic (attribute "handler"; offsets from the
	// group's committed ones to the last stable ones, transaction
	// markers included), and strata.deadset.records, the records the
	// dead-letter topic holds (offsets from its start to its last stable
	// offset). Every instance reports those two for the whole
	// application: aggregate them by maximum, not by sum.
	//
	// Default: with AdminAddr set, a MeterProvider of the App's own whose
	// metrics the admin endpoint serves at /metrics, in Prometheus'
	// format (OpenTelemetry's Prometheus exporter); otherwise
	// otel.GetMeterProvider(), the global provider, which is a no-op
	// unless the program installs one.
	MeterProvider metric.MeterProvider

	// TracerProvider, if set, traces the processing of records: a share
	// of the input records (TraceSampleRatio) is each processed in a
	// span, "process <topic>", continuing the trace whose context the
	// record's headers carry (a "traceparent" header: W3C Trace
	// Context), and the records written while it is processed carry the
	// span's context on in their headers, through repartition topics to
	// the output. Records not traced keep their headers. Default nil: no
	// tracing, which costs nothing per record.
	TracerProvider trace.TracerProvider

	// TraceSampleRatio is the share of input records processed in a span
	// when TracerProvider is set, from 0 to 1, spread evenly (one record
	// in 100 at 0.01); the TracerProvider's sampler then decides which
	// spans are recorded. Default 0: every record (1). Setting it without
	// a TracerProvider is an error.
	TraceSampleRatio float64

	// Propagator reads and writes the trace context in record headers
	// when TracerProvider is set. Default: W3C Trace Context
	// (propagation.TraceContext: the "traceparent" and "tracestate"
	// headers). Setting it without a TracerProvider is an error.
	Propagator propagation.TextMapPropagator

	// AdminAddr, if set, is the address ("host:port", as net.Listen takes
	// it; port 0 picks a free one, see App.AdminAddr) on which Run serves
	// the admin endpoint (App.AdminHandler) from its start until it
	// returns: /healthz, /readyz, /metrics, /topology, /tasks and
	// AdminRoutes. Without it, mount App.AdminHandler on a server of your
	// own. See MeterProvider for what /metrics serves.
	AdminAddr string

	// AdminRoutes are more handlers the admin endpoint serves, by
	// http.ServeMux pattern: the query package's and the dead set's HTTP
	// handlers, for instance. A pattern that is invalid or conflicts with
	// the endpoint's own routes is an error.
	AdminRoutes map[string]http.Handler

	// metricsGatherer is the Prometheus registry of the MeterProvider
	// withDefaults made for the admin endpoint; nil when it made none.
	metricsGatherer prometheus.Gatherer

	// ReplicationFactor of the internal topics the app creates
	// (changelogs). Default -1: the brokers' default.
	ReplicationFactor int16

	// instanceIDDefault is set by withDefaults when it derived
	// InstanceID: workers are then dynamic group members.
	instanceIDDefault bool

	// handlers is set by New when the topology has outcome handlers,
	// which write to the dead-letter topic whatever the policies say.
	handlers bool

	// ClientOptions are passed to every franz-go client the app creates,
	// for TLS, SASL, client IDs and tuning. Strata's own options come
	// after them and win where they overlap: the consumer group, the
	// topics consumed, offset commits, rebalance callbacks, partitioning
	// and the isolation level are not configurable this way.
	ClientOptions []kgo.Opt
}

// maxInstanceID bounds the length of Config.InstanceID, so that a worker's
// group instance ID, "<InstanceID>-<i>", stays within the 249 characters
// Kafka allows.
const maxInstanceID = 240

// MaxWorkers bounds Config.Workers. Each worker holds its own Kafka
// client, group membership and goroutine; more than this on one instance
// is a mistake rather than a deployment (run more instances instead).
const MaxWorkers = 256

const (
	defaultCacheMaxBytes  = 10 << 20
	defaultStateMemory    = 64 << 20
	defaultCommitInterval = 5 * time.Second
	// defaultTxnCommitInterval is CommitInterval's default under
	// exactly-once.
	defaultTxnCommitInterval = 100 * time.Millisecond
	defaultPollTimeout       = 100 * time.Millisecond
	defaultMaxPollRecords    = 10000
	defaultMaxInFlight       = 10000
	// defaultFetchMaxBytes and defaultFetchMaxPartitionBytes bound the
	// records a consumer buffers (docs/performance.md, "State at
	// scale").
	defaultFetchMaxBytes          = 2 << 20
	defaultFetchMaxPartitionBytes = 1 << 20
	// maxFetchBytes bounds both: a fetch response is read into memory
	// whole.
	maxFetchBytes          = 1 << 30
	defaultShutdownTimeout = 30 * time.Second
)

// withDefaults validates c and returns it with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	bad := func(field, format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if c.ApplicationID == "" {
		return bad("ApplicationID", "must not be empty")
	}
	if err := checkTopicName(c.ApplicationID, 200); err != nil {
		return bad("ApplicationID", "%v", err)
	}
	if len(c.Brokers) == 0 {
		return bad("Brokers", "at least one seed broker is required")
	}
	for i, b := range c.Brokers {
		if err := checkBroker(b); err != nil {
			return bad(fmt.Sprintf("Brokers[%d]", i), "%v", err)
		}
	}
	switch {
	case c.CommitInterval < 0:
		return bad("CommitInterval", "must not be negative, got %v", c.CommitInterval)
	case c.CommitInterval == 0 && c.Guarantee == ExactlyOnce:
		c.CommitInterval = defaultTxnCommitInterval
	case c.CommitInterval == 0:
		c.CommitInterval = defaultCommitInterval
	}
	if c.MaxTaskIdle > 0 {
		return bad("MaxTaskIdle", "positive values (%v) are not supported: use 0 to wait for lagging inputs, or a negative value never to wait", c.MaxTaskIdle)
	}
	switch {
	case c.PollTimeout < 0:
		return bad("PollTimeout", "must not be negative, got %v", c.PollTimeout)
	case c.PollTimeout == 0:
		c.PollTimeout = defaultPollTimeout
	}
	switch {
	case c.MaxPollRecords < 0:
		return bad("MaxPollRecords", "must not be negative, got %d", c.MaxPollRecords)
	case c.MaxPollRecords == 0:
		c.MaxPollRecords = defaultMaxPollRecords
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = defaultMaxInFlight
	}
	switch {
	case c.FetchMaxBytes < 0 || c.FetchMaxBytes > maxFetchBytes:
		return bad("FetchMaxBytes", "must be between 0 (the default) and %d, got %d", maxFetchBytes, c.FetchMaxBytes)
	case c.FetchMaxBytes == 0:
		c.FetchMaxBytes = defaultFetchMaxBytes
	}
	switch {
	case c.FetchMaxPartitionBytes < 0:
		return bad("FetchMaxPartitionBytes", "must not be negative, got %d", c.FetchMaxPartitionBytes)
	case c.FetchMaxPartitionBytes == 0:
		c.FetchMaxPartitionBytes = min(defaultFetchMaxPartitionBytes, c.FetchMaxBytes)
	case c.FetchMaxPartitionBytes > c.FetchMaxBytes:
		return bad("FetchMaxPartitionBytes", "%d exceeds FetchMaxBytes (%d)", c.FetchMaxPartitionBytes, c.FetchMaxBytes)
	}
	if !c.OnBadRecord.Valid() {
		return bad("OnBadRecord", "unknown policy %d", c.OnBadRecord)
	}
	if !c.OnProcessingError.Valid() {
		return bad("OnProcessingError", "unknown policy %d", c.OnProcessingError)
	}
	if !c.OnProductionError.Valid() {
		return bad("OnProductionError", "unknown policy %d", c.OnProductionError)
	}
	switch {
	case c.ShutdownTimeout < 0:
		return bad("ShutdownTimeout", "must not be negative, got %v", c.ShutdownTimeout)
	case c.ShutdownTimeout == 0:
		c.ShutdownTimeout = defaultShutdownTimeout
	}
	switch {
	case !c.deadLetters() && c.DeadLetterTopic != "":
		return bad("DeadLetterTopic", "is set to %q, but the topology has no outcome handler and none of OnBadRecord (%s), OnProcessingError (%s) and OnProductionError (%s) is dead-letter", c.DeadLetterTopic, c.OnBadRecord, c.OnProcessingError, c.OnProductionError)
	case c.deadLetters() && c.DeadLetterTopic == "":
		c.DeadLetterTopic = deadletter.DefaultTopic(c.ApplicationID)
	}
	if c.DeadLetterTopic != "" {
		if err := checkTopicName(c.DeadLetterTopic, 249); err != nil {
			return bad("DeadLetterTopic", "%v", err)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.AdminAddr != "" {
		if err := checkListenAddr(c.AdminAddr); err != nil {
			return bad("AdminAddr", "%v", err)
		}
	}
	if err := checkAdminRoutes(c.AdminRoutes); err != nil {
		return bad("AdminRoutes", "%v", err)
	}
	switch {
	case c.MeterProvider == nil && c.AdminAddr != "":
		mp, reg, err := prometheusMeterProvider()
		if err != nil {
			return bad("MeterProvider", "%v", err)
		}
		c.MeterProvider, c.metricsGatherer = mp, reg
	case c.MeterProvider == nil:
		c.MeterProvider = otel.GetMeterProvider()
	}
	switch r := c.TraceSampleRatio; {
	case r != r || r < 0 || r > 1: // r != r: NaN
		return bad("TraceSampleRatio", "must be from 0 to 1, got %v", r)
	case r > 0 && c.TracerProvider == nil:
		return bad("TraceSampleRatio", "is %v, but TracerProvider is not set", r)
	case r == 0:
		c.TraceSampleRatio = 1
	}
	switch {
	case c.Propagator != nil && c.TracerProvider == nil:
		return bad("Propagator", "is set, but TracerProvider is not")
	case c.Propagator == nil:
		c.Propagator = propagation.TraceContext{}
	}
	if c.StateDir == "" {
		c.StateDir = defaultStateDir()
	}
	if c.Guarantee != AtLeastOnce && c.Guarantee != ExactlyOnce {
		return bad("Guarantee", "unknown guarantee %d", c.Guarantee)
	}
	if c.StandbyReplicas < 0 {
		return bad("StandbyReplicas", "must not be negative, got %d", c.StandbyReplicas)
	}
	switch {
	case c.Workers < 0:
		return bad("Workers", "must be at least 1, got %d", c.Workers)
	case c.Workers == 0:
		c.Workers = 1
	case c.Workers > MaxWorkers:
		return bad("Workers", "must be at most %d, got %d; run more instances instead", MaxWorkers, c.Workers)
	}
	if c.InstanceID == "" {
		c.InstanceID = defaultInstanceID(c.StateDir)
		c.instanceIDDefault = true
	}
	if len(c.InstanceID) > maxInstanceID {
		return bad("InstanceID", "is %d characters long; at most %d are allowed", len(c.InstanceID), maxInstanceID)
	}
	if err := checkServer(c.ApplicationServer); err != nil {
		return bad("ApplicationServer", "%v", err)
	}
	for _, r := range c.InstanceID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return bad("InstanceID", "%q contains %q; use ASCII letters, digits, '.', '_' and '-'", c.InstanceID, r)
		}
	}
	switch {
	case c.StateMemoryBytes < 0:
		return bad("StateMemoryBytes", "must not be negative, got %d", c.StateMemoryBytes)
	case c.StateMemoryBytes == 0:
		c.StateMemoryBytes = defaultStateMemory
	case c.StateMemoryBytes < 4<<20:
		return bad("StateMemoryBytes", "must be at least 4 MiB, got %d", c.StateMemoryBytes)
	}
	switch {
	case c.CacheMaxBytes < 0:
		return bad("CacheMaxBytes", "must not be negative, got %d; set DisableCache to turn caching off", c.CacheMaxBytes)
	case c.DisableCache && c.CacheMaxBytes > 0:
		return bad("CacheMaxBytes", "is %d, but DisableCache is set", c.CacheMaxBytes)
	case !c.DisableCache && c.CacheMaxBytes == 0:
		c.CacheMaxBytes = min(defaultCacheMaxBytes, c.StateMemoryBytes/2)
	}
	if c.CacheMaxBytes > c.StateMemoryBytes/2 {
		return bad("CacheMaxBytes", "is %d, more than half of StateMemoryBytes (%d), of which it is part; raise StateMemoryBytes", c.CacheMaxBytes, c.StateMemoryBytes)
	}
	switch {
	case c.ReplicationFactor == 0:
		c.ReplicationFactor = -1
	case c.ReplicationFactor < -1:
		return bad("ReplicationFactor", "must be -1 (broker default) or positive, got %d", c.ReplicationFactor)
	}
	return c, nil
}

// defaultStateDir is Config.StateDir's default.
func defaultStateDir() string { return filepath.Join(os.TempDir(), "strata") }

// checkListenAddr checks that addr is "host:port" with a port from 0 to
// 65535 (0 picks a free port) and a host that may be empty (every
// interface).
func checkListenAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (:9090 listens on every interface): %w", addr, err)
	}
	if strings.ContainsFunc(host, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' }) {
		return fmt.Errorf("%q: host %q is not a host name or address", addr, host)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// defaultInstanceID names an instance by its host and state directory,
// which two instances on one host cannot share.
func defaultInstanceID(stateDir string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	clean := make([]rune, 0, len(host))
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			r = '_'
		}
		clean = append(clean, r)
	}
	clean = clean[:min(len(clean), maxInstanceID-9)] // room for the hash
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		abs = stateDir
	}
	sum := sha256.Sum256([]byte(abs))
	return string(clean) + "-" + hex.EncodeToString(sum[:4])
}

// pebbleMemory is Pebble's share of StateMemoryBytes: what the record cache
// leaves.
func (c Config) pebbleMemory() int64 { return c.StateMemoryBytes - c.CacheMaxBytes }

// deadLetters reports whether a policy, or an outcome handler, writes to
// the dead-letter topic.
func (c Config) deadLetters() bool {
	return c.OnBadRecord == topology.BadRecordDeadLetter || c.OnProcessingError == topology.BadRecordDeadLetter ||
		c.OnProductionError == topology.BadRecordDeadLetter || c.handlers
}

// checkBroker checks that addr is a seed broker address, "host:port" with a
// numeric port from 1 to 65535, an IPv6 host in brackets.
func checkBroker(addr string) error {
	if addr == "" {
		return errors.New("must not be empty")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (an IPv6 address in brackets, [::1]:9092): %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", addr)
	}
	if strings.ContainsFunc(host, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' }) {
		return fmt.Errorf("%q: host %q is not a host name or address", addr, host)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%q: port %q is not a number from 1 to 65535", addr, port)
	}
	return nil
}

// checkTopicName checks name against Kafka's rules for topic names, with at
// most max characters (249 for a topic; less for a prefix of topic names).
func checkTopicName(name string, max int) error {
	if len(name) > max {
		return fmt.Errorf("is %d characters long; at most %d are allowed", len(name), max)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("%q is not a valid topic name", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%q contains %q; use ASCII letters, digits, '.', '_' and '-'", name, r)
		}
	}
	return nil
}

// checkServer checks an ApplicationServer: empty, or "host:port" with a
// host and a port number.
func checkServer(server string) error {
	if server == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", server, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", server)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%q has no valid port: %q", server, port)
	}
	return nil
}
