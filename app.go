package strata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/otel/metric"

	"github.com/strata-go/strata/internal/commitmeta"
	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
	"github.com/strata-go/strata/topology"
)

// ErrAlreadyRunning is returned by Run when the App is already running or has
// run before: an App runs once.
var ErrAlreadyRunning = errors.New("strata: app already ran")

// App runs a topology on Kafka as one member of the application's consumer
// group. Create it with [New]; run it with [App.Run].
type App struct {
	top *engine.Topology
	// userTop is the topology as built, which /topology describes.
	userTop *topology.Topology
	cfg     Config
	started atomic.Bool
	metrics metrics
	// tel is the App's metrics registry (telemetry.go); restoreMetrics
	// are the OpenTelemetry instruments of restoration.
	tel            *telemetry
	restoreMetrics *restoreMetrics
	// tracer traces record processing; nil without a TracerProvider.
	tracer *recordTracer
	// liveWorkers are the workers while Run runs, for readiness (admin.go);
	// nil before and once Run's context is cancelled. adminAddr is
	// where the admin endpoint listens.
	liveWorkers atomic.Pointer[[]*runner]
	adminAddr   atomic.Pointer[string]
	// crash, closed by tests, makes Run stop as a crashed process would:
	// in the middle of its work, committing nothing.
	crash chan struct{}
	// state is the App's State (appstate.go).
	state *appState
	// live is what queries read while Run runs (queries.go).
	live atomic.Pointer[instanceQueries]
	// onGlobalProgress, set by a View, is told how far the global stores
	// have read each partition of their topics.
	onGlobalProgress func(next map[topicPartition]int64)
	// meter is what tasks' nodes make their instruments with
	// (engine.TaskConfig.Meter).
	meter metric.Meter
	// handlerGauges read the outcome handlers' gauges while Run runs;
	// nil without handlers (handler_metrics.go).
	handlerGauges *handlerGauges
	// inFlight bounds the records concurrent and batch handlers hold,
	// across the instance's tasks (Config.MaxInFlight).
	inFlight *engine.InFlightLimit
}

// New returns an App that will run top with cfg. It validates cfg; an
// invalid field is an error wrapping [ErrInvalidConfig] that names it.
func New(top *topology.Topology, cfg Config) (*App, error) {
	if top == nil {
		return nil, fmt.Errorf("%w: nil topology", ErrInvalidConfig)
	}
	cfg.handlers = engine.Built(*top).Topology().WritesDeadLetters()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rm, err := newRestoreMetrics(cfg.MeterProvider)
	if err != nil {
		return nil, err
	}
	a := &App{top: engine.Built(*top).Topology().Resolve(cfg.ApplicationID), userTop: top, cfg: cfg, restoreMetrics: rm, crash: make(chan struct{}),
		state: newAppState(cfg.StateListener), inFlight: engine.NewInFlightLimit(cfg.MaxInFlight)}
	if a.tel, err = newTelemetry(cfg.MeterProvider, &a.cfg, &a.metrics); err != nil {
		return nil, err
	}
	a.tracer = newRecordTracer(&a.cfg)
	a.meter = a.cfg.MeterProvider.Meter(meterName)
	if err := a.observeHandlers(a.cfg.MeterProvider); err != nil {
		return nil, err
	}
	return a, nil
}

// Run joins the consumer group with Config.Workers members and processes
// records until ctx is cancelled or processing fails. On cancellation it
// shuts down cleanly: each worker flushes output, commits the offsets of
// everything processed, closes its tasks and leaves the group, and Run
// returns nil. On failure in one worker the others shut down cleanly, and Run
// returns the error without committing the failed work, which is processed
// again on restart. The App's State follows Run's progress.
func (a *App) Run(ctx context.Context) error {
	if !a.started.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	stopAdmin, err := a.serveAdmin()
	if err != nil {
		return err
	}
	defer stopAdmin()
	a.state.start(a.cfg.Workers)
	stopWatch := a.state.watch(ctx)
	err = a.run(ctx)
	stopWatch()
	a.state.stopped(err)
	return err
}

func (a *App) run(ctx context.Context) error {
	in, err := openInstance(ctx, a)
	if err != nil {
		if ctx.Err() != nil {
			return nil // cancelled while starting: a clean stop
		}
		return err
	}
	workers, err := a.newWorkers(ctx, in)
	if err == nil {
		a.live.Store(in.queries)
		a.liveWorkers.Store(&workers)
		stopLive := context.AfterFunc(ctx, func() { a.liveWorkers.Store(nil) })
		stopGauges := a.startHandlerGauges()
		err = runWorkers(ctx, in, workers)
		stopGauges()
		stopLive()
		a.live.Store(nil)
	} else if ctx.Err() != nil {
		err = nil // cancelled while starting: a clean stop
	}
	return errors.Join(err, in.close(err == nil))
}

// newWorkers sets up the App's workers, then lets them join the group one
// right after the other, so that the group's first rebalances see them all
// soon. The first worker checks the topics and creates the internal ones;
// the others reuse its findings.
func (a *App) newWorkers(ctx context.Context, in *instance) ([]*runner, error) {
	var workers []*runner
	release := func() {
		for _, w := range workers {
			w.release()
		}
	}
	for i := range a.cfg.Workers {
		var first *runner
		if i > 0 {
			first = workers[0]
		}
		w, err := newRunner(ctx, a, in, i, first)
		if err != nil {
			release()
			return nil, err
		}
		workers = append(workers, w)
	}
	in.queries.setPartitions(workers[0].partitions)
	for _, w := range workers {
		if err := w.join(ctx); err != nil {
			release()
			return nil, err
		}
	}
	return workers, nil
}

// topicPartition names one partition of one topic.
type topicPartition struct {
	topic     string
	partition int32
}

// taskInput routes one assigned partition to its task's input.
type taskInput struct {
	task  *engine.Task
	input *engine.Input
	// restoring marks a task still restoring. Its partitions are
	// paused; records fetched before the pause are buffered, and
	// processed once it is restored.
	restoring bool
}

// runner is one worker of an App's run: its client, tasks and commit state.
type runner struct {
	app *App
	cfg *Config
	log *slog.Logger
	// index numbers the worker within the instance, from 0; stats are
	// its metrics (telemetry.go).
	index int
	stats *workerStats
	inst  *instance
	cl    *kgo.Client
	// eos is set, before any client exists, under exactly-once. sess is
	// then the transactional session, and cl its client; rebalance
	// callbacks may run before sess is set, so they test eos.
	eos  bool
	sess *kgo.GroupTransactSession
	// inTxn reports an open transaction; polled counts the records
	// polled since the last commit. Both are used by the poll loop only.
	inTxn  bool
	polled int
	// processed reports records processed since the last commit: their
	// offsets are the next commit's. Used by the poll loop only.
	processed bool
	// waits times how long each task has waited for a lagging input;
	// past maxTaskWait it processes anyway (idle.go).
	waits taskWaits
	// rebalanced is set by rebalance callbacks under exactly-once: the
	// session then aborts its next transaction, so the loop resets it
	// before doing any work.
	rebalanced atomic.Bool
	// rebalanceWaits is set by the client when a rebalance waits for
	// the loop to allow it: under exactly-once, the loop then commits
	// the open transaction at once.
	rebalanceWaits atomic.Bool
	adm            *kadm.Client
	// restoreClient reads changelogs, read_committed, with transaction
	// markers kept so that restoration sees where the log ends.
	restoreClient *kgo.Client
	// standby keeps the worker's standby replicas (standby.go).
	standby standbyState
	state   *stateDir
	storage *storage
	// cache is the record cache every task of this worker shares (nil
	// when caching is disabled), with its share of CacheMaxBytes. One
	// goroutine runs the tasks, so it needs no locking.
	cache *engine.RecordCache
	// global keeps the instance's global stores up to date; nil
	// without any.
	global *globalThread

	// produceCtx outlives Run's ctx by Config.ShutdownTimeout, so that
	// output already handed to the producer is still delivered during a
	// clean stop, and bounds every wait of that stop.
	produceCtx  context.Context
	stopProduce context.CancelFunc
	// output tracks the records handed to the current client
	// (produce.go). Used by the poll loop only.
	output *outputState
	// poisoned are input records, by partition and offset, whose output
	// could not be produced under exactly-once: when they come again,
	// after the transaction aborted, the production-error policy handles
	// them. Used by the poll loop only.
	poisoned map[topicPartition]map[int64]productionFailure

	// runCtx is Run's context, the tasks' (engine.TaskConfig.Context):
	// done when the app stops.
	runCtx context.Context
	// rebalanceTimeout is the group's, which bounds a blocking retry's
	// wait (engine.TaskConfig.RebalanceTimeout).
	rebalanceTimeout time.Duration

	// mu guards everything below. The poll loop holds it while it
	// processes; rebalance callbacks take it to create and close tasks.
	mu    sync.Mutex
	tasks map[engine.TaskID]*engine.Task
	// sweep is holdWaiting's list of the tasks, reused.
	sweep      []*engine.Task
	inputs     map[topicPartition]taskInput
	partitions map[string]int
	// repartition marks the app's repartition topics.
	repartition map[string]bool
	committed   map[topicPartition]int64
	// restoring are the tasks whose stores are being restored, and
	// restoringChangelog routes their changelog partitions to them.
	restoring          map[engine.TaskID]*restoration
	restoringChangelog map[topicPartition]*restoration
	// restoringCount is len(restoring), for the loop to read without mu.
	restoringCount atomic.Int32
	// group is the group client as the rebalance callbacks get it, which
	// may be before join sets cl.
	group   atomic.Pointer[kgo.Client]
	touched []*engine.Task
	// held are the tasks holding records back until a due time (held.go).
	held map[engine.TaskID]*held
	// busy are the tasks whose partitions are paused while a handler of
	// theirs is at its bound, with those partitions (busy.go).
	busy map[engine.TaskID]*busyTask
	// free is resumeBusy's scratch list of tasks no longer busy.
	free []*engine.Task
	// wake is signalled when work finishing on another goroutine posts
	// to a task (async.go).
	wake chan struct{}
	// pollCancel cancels the poll the loop waits in while records are
	// pending, for posted; nil outside such a poll.
	pollCancel atomic.Pointer[context.CancelFunc]
	lastCommit time.Time
	lastPurge  time.Time
	// commitStart is when the commit under way began, for its latency.
	commitStart time.Time
	fatal       error
	failed      bool
	// stopped is set when the worker stops (cleanly, on failure or by
	// the crash hook): an assignment arriving while its client closes
	// opens no task.
	stopped bool
	// fenced counts recent fencings of the worker's producer; used by
	// the poll loop only.
	fenced recent
	// warns rate-limits the log of transient failures (reset.go).
	warns warnings
	// replaced counts recent replacements of the worker
	// (ReplaceWorker); used by the poll loop only.
	replaced recent
	// inRebalance is set while the worker joins the group or a rebalance
	// of it runs, until its assignment is in; reportedRunning is what
	// the worker last reported to the App's state, guarded by mu
	// (appstate.go).
	inRebalance     bool
	reportedRunning bool
	// leave makes release send LeaveGroup for the worker's static
	// member once its client closed; joining is set while the worker
	// waits for an assignment (static.go).
	leave   bool
	joining atomic.Bool
}

// newRunner sets worker index up, short of joining the group (see join).
// The first worker (first is nil) checks the source topics and creates the
// internal ones; the others take what it found.
func newRunner(ctx context.Context, a *App, in *instance, index int, first *runner) (*runner, error) {
	log := a.cfg.Logger.With("application", a.cfg.ApplicationID)
	if a.cfg.Workers > 1 {
		log = log.With("worker", index)
	}
	r := &runner{
		eos:         a.cfg.Guarantee == ExactlyOnce,
		app:         a,
		cfg:         &a.cfg,
		log:         log,
		index:       index,
		stats:       a.tel.workers[index],
		inst:        in,
		state:       in.state,
		storage:     in.storage,
		global:      in.global,
		output:      newOutputState(),
		wake:        make(chan struct{}, 1),
		tasks:       map[engine.TaskID]*engine.Task{},
		inputs:      map[topicPartition]taskInput{},
		partitions:  map[string]int{},
		repartition: map[string]bool{},
		committed:   map[topicPartition]int64{},

		restoring:          map[engine.TaskID]*restoration{},
		restoringChangelog: map[topicPartition]*restoration{},
	}
	r.produceCtx, r.stopProduce = stopContext(ctx, a.cfg.ShutdownTimeout)
	// Everything a task needs is set up before the group client exists:
	// it joins the group, and may be assigned partitions, as soon as it
	// is created.
	var err error
	if !a.cfg.DisableCache {
		r.cache = engine.NewRecordCache(a.cfg.CacheMaxBytes / int64(a.cfg.Workers))
	}
	ropts := a.cfg.clientOptions(
		kgo.SeedBrokers(a.cfg.Brokers...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if r.restoreClient, err = kgo.NewClient(ropts...); err != nil {
		r.release()
		return nil, fmt.Errorf("strata: create Kafka client: %w", err)
	}
	// The group client gets the same options: ClientOptions may set
	// the rebalance timeout.
	r.runCtx = ctx
	r.rebalanceTimeout, _ = r.restoreClient.OptValue(kgo.RebalanceTimeout).(time.Duration)
	r.adm = kadm.NewClient(r.restoreClient)
	if err := r.initStandbys(ropts); err != nil {
		r.release()
		return nil, err
	}
	if first != nil {
		maps.Copy(r.partitions, first.partitions)
		maps.Copy(r.repartition, first.repartition)
		return r, nil
	}
	if err := r.checkSources(ctx, userTopics(a.top, r.sources())); err != nil {
		r.release()
		return nil, err
	}
	if err := r.ensureInternalTopics(ctx); err != nil {
		r.release()
		return nil, err
	}
	if err := r.ensureDeadLetterTopic(ctx); err != nil {
		r.release()
		return nil, err
	}
	return r, nil
}

// sources lists the topics the topology reads.
func (r *runner) sources() []string {
	var sources []string
	for topic := range r.app.top.TopicSubtopology {
		sources = append(sources, topic)
	}
	return sources
}

// balancer returns the worker's task balancer: it reports the worker's
// process and task lags, plans StandbyReplicas when it leads the group, and
// hands the worker its standby tasks.
func (r *runner) balancer() kgo.GroupBalancer {
	b := newTaskBalancer(r.app.top, r.log).(*taskBalancer)
	b.process = r.cfg.InstanceID
	b.standbyReplicas = r.cfg.StandbyReplicas
	b.onStandbys = r.setStandbys
	b.shutdown = r.inst.stop.reason
	b.onShutdown = r.inst.stop.tell
	b.server = r.cfg.ApplicationServer
	b.onInstances = r.inst.queries.setInstances
	if r.state != nil {
		b.lags = r.localLags
	}
	return b
}

// join creates the worker's group client, which joins the group at once.
func (r *runner) join(ctx context.Context) error {
	r.mu.Lock()
	r.startRebalance()
	r.mu.Unlock()
	a := r.app
	sources := r.sources()
	var err error
	opts := a.cfg.clientOptions(
		kgo.SeedBrokers(a.cfg.Brokers...),
		kgo.ConsumerGroup(a.cfg.ApplicationID),
		kgo.ConsumeTopics(sources...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		// Tasks move as units, stick where their state is, and move
		// cooperatively. Range stays listed so that a group of older
		// members can be upgraded one instance at a time.
		kgo.Balancers(r.balancer(), kgo.RangeBalancer()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers move a partition's position: with them
		// a task sees when it has read all a partition holds (idle.go
		// in package engine).
		kgo.KeepControlRecords(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.OnPartitionsAssigned(r.assigned),
		kgo.OnPartitionsRevoked(r.revoked),
		kgo.OnPartitionsLost(r.lost),
		// A rebalance waiting for the open transaction asks the loop
		// to commit it now rather than at the end of CommitInterval.
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) { r.rebalanceWaits.Store(true) }),
	)
	opts = append(opts, r.staticMember()...) // static.go
	r.joinPending()
	r.stats.rebalancing()
	if a.cfg.Guarantee == ExactlyOnce {
		// The transaction timeout comes first, so that
		// Config.ClientOptions can change it.
		opts = append([]kgo.Opt{kgo.TransactionTimeout(defaultTransactionTimeout)}, opts...)
		opts = append(opts,
			kgo.TransactionalID(transactionalID(r.cfg, r.index)),
			// A transaction must not wait on a linger timer when it
			// ends: measured at 20x the throughput at 100 records
			// per transaction (docs/performance.md).
			kgo.ProducerLinger(0),
			kgo.RequireStableFetchOffsets(),
		)
		if r.sess, err = kgo.NewGroupTransactSession(opts...); err == nil {
			r.cl = r.sess.Client()
		}
	} else {
		r.cl, err = kgo.NewClient(opts...)
	}
	if err != nil {
		return fmt.Errorf("strata: create Kafka client: %w", err)
	}
	if r.eos {
		// Initialising the producer now fences a predecessor with
		// this transactional ID and aborts its open transaction. Left
		// open, it holds back (KIP-447) the committed offsets that
		// this worker, or with several workers another one, must
		// fetch before it processes, and so before it would begin a
		// transaction of its own.
		pctx, cancel := context.WithTimeout(ctx, attemptTimeout)
		_, _, err := r.cl.ProducerID(pctx)
		cancel()
		if err != nil {
			r.closeClient(r.cl)
			r.cl, r.sess = nil, nil
			return fmt.Errorf("strata: initialise transactional producer %q: %w", transactionalID(r.cfg, r.index), err)
		}
	}
	return nil
}

// release closes the worker's clients, after its tasks are closed. What
// the workers share is released by Run once all have stopped.
func (r *runner) release() error {
	r.closeClient(r.cl)
	if r.cl != nil && r.leave {
		r.leaveGroup()
	}
	if r.restoreClient != nil {
		r.restoreClient.Close()
	}
	if r.standby.client != nil {
		r.standby.client.Close()
	}
	if r.stopProduce != nil {
		r.stopProduce()
	}
	return nil
}

// hasPersistentStores reports whether any store of top keeps data on disk.
func hasPersistentStores(top *engine.Topology) bool {
	for _, s := range top.Graph.Stores {
		if s.Persistent {
			return true
		}
	}
	return false
}

// userTopics returns the topics of sources that are not internal: the ones
// that must exist before the app starts.
func userTopics(top *engine.Topology, sources []string) []string {
	internal := map[string]bool{}
	for _, n := range top.Graph.Nodes {
		if n.Internal {
			for _, t := range n.Topics {
				internal[t] = true
			}
		}
	}
	var out []string
	for _, t := range sources {
		if !internal[t] {
			out = append(out, t)
		}
	}
	return out
}

// checkSources fails when a source topic does not exist, naming it.
func (r *runner) checkSources(ctx context.Context, sources []string) error {
	details, err := r.adm.ListTopics(ctx, sources...)
	if err != nil {
		return fmt.Errorf("strata: look up source topics: %w", err)
	}
	var missing []string
	for _, t := range sources {
		d, ok := details[t]
		if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			missing = append(missing, t)
			continue
		}
		if d.Err != nil {
			return fmt.Errorf("strata: look up source topic %q: %w", t, d.Err)
		}
		r.partitions[t] = len(d.Partitions)
	}
	if len(missing) > 0 {
		return fmt.Errorf("strata: source topics do not exist: %q", missing)
	}
	return nil
}

func (r *runner) run(ctx context.Context) error {
	r.log.Info("starting", "guarantee", r.cfg.Guarantee, "commit_interval", r.cfg.CommitInterval)
	r.lastCommit = time.Now()
	stopWatch := r.watchPartitions(ctx)
	defer stopWatch()
	for {
		if r.crashing() {
			return r.crashed()
		}
		if ctx.Err() != nil {
			return r.shutdown()
		}
		if err := r.inst.partitions.changed(); err != nil {
			r.log.Error("stopping", "err", err) // partitions.go
			return errors.Join(err, r.shutdown())
		}
		// While tasks restore, the restore client's poll is where the
		// loop waits; the group's poll only takes what is buffered
		// (PollRecords without a context). A poll that returns nothing
		// does not hold rebalances back, so then a poll with a
		// cancelled context does: from here until the loop allows it,
		// no rebalance callback runs (see abortTransaction).
		var fetches kgo.Fetches
		if r.restoringCount.Load() > 0 {
			fetches = r.cl.PollRecords(nil, r.cfg.MaxPollRecords)
			if len(fetches) == 0 {
				fetches = r.cl.PollRecords(cancelled, 0)
			}
		} else {
			wait, pending := r.nextWake(r.cfg.PollTimeout)
			pctx, cancel := r.pollContext(ctx, wait, pending)
			began := time.Now()
			fetches = r.cl.PollRecords(pctx, r.cfg.MaxPollRecords)
			cancel()
			r.app.tel.polled(r.stats, time.Since(began), fetches.NumRecords())
		}
		if r.eos && r.rebalanced.Swap(false) {
			// A rebalance ran (between transactions, or partitions
			// were lost mid-transaction); the session would abort
			// the next commit. Ending the session resets it and
			// rewinds to the committed offsets: the records just
			// polled are fetched again.
			if err := r.recover(ctx, r.resetSession()); err != nil {
				if err = r.uncaught(ctx, err); err != nil {
					return r.stop(err)
				}
				continue
			}
			r.cl.AllowRebalance()
			continue
		}
		r.mu.Lock()
		err := r.fatal
		if err == nil {
			err = r.global.Err()
		}
		if err == nil {
			err = r.process(fetches)
		}
		if err == nil {
			err = r.runPosted()
		}
		if err == nil {
			err = r.resumeBusy()
		}
		if err == nil {
			err = r.punctuate()
		}
		if err == nil {
			err = r.updateStandbys(ctx)
		}
		if err == nil && len(r.restoring) > 0 {
			err = r.restoreSome(ctx)
		}
		if r.crashing() {
			r.mu.Unlock()
			return r.crashed()
		}
		if err == nil {
			err = r.enforceWaiting()
		}
		if err == nil {
			err = r.holdWaiting()
		}
		// Cancelling ctx asks for a clean stop, which commits: it must
		// not cut a commit short.
		waits := r.rebalanceWaits.Swap(false)
		if err == nil && waits {
			err = r.drainPending()
		}
		due := time.Since(r.lastCommit) >= r.cfg.CommitInterval
		if err == nil && (due || waits && r.txnOpen()) {
			err = r.commit()
		}
		if errors.Is(err, kv.ErrCorrupt) {
			err = r.recoverCorruption(ctx, err)
		}
		open := r.txnOpen()
		r.updateState()
		r.stats.cache(r.cache)
		r.mu.Unlock()
		if err = r.recover(ctx, err); err != nil {
			if err = r.uncaught(ctx, err); err != nil {
				return r.stop(err)
			}
			continue
		}
		// Under exactly-once a rebalance runs only between
		// transactions: while one is open the loop polls on, and lets
		// a rebalance proceed once the transaction has committed,
		// which a waiting rebalance hastens.
		if !open {
			r.cl.AllowRebalance()
		}
	}
}

// txnOpen reports whether, under exactly-once, work was done since the last
// commit: records polled, processed or output produced, which the next
// transaction commit covers.
func (r *runner) txnOpen() bool { return r.eos && (r.inTxn || r.polled > 0 || r.processed) }

// cancelled is a context that is done: a poll with it holds rebalances
// back at once, taking no record.
var cancelled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// process hands fetched records to their tasks and processes them. Fetch
// errors that waiting cures (the brokers unreachable, a group session being
// re-established) are logged, rate-limited; the records fetched are
// processed either way: polled records are never dropped, since a commit
// covers them.
func (r *runner) process(fetches kgo.Fetches) error {
	var err error
	fetches.EachError(func(topic string, p int32, ferr error) {
		switch {
		case errors.Is(ferr, context.DeadlineExceeded), errors.Is(ferr, context.Canceled), errors.Is(ferr, kgo.ErrClientClosed):
		case fatalFetchError(ferr):
			if err == nil {
				err = fmt.Errorf("strata: fetch %s[%d]: %w", topic, p, ferr)
			}
		case topic == "":
			r.warns.warn(r, "poll", ferr)
		default:
			r.warns.warn(r, fmt.Sprintf("fetch %s[%d]", topic, p), ferr)
		}
	})
	r.touched = r.touched[:0]
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if err != nil {
			return
		}
		in, ok := r.inputs[topicPartition{p.Topic, p.Partition}]
		if ok && r.cfg.MaxTaskIdle >= 0 {
			in.task.SetEnd(p.Topic, p.LastStableOffset)
		}
		var ps *partStats
		if ok {
			if ps = statsOf(in.task).part(in.input); ps != nil {
				ps.end.Store(p.LastStableOffset)
			}
		}
		if len(p.Records) == 0 {
			return
		}
		if !ok {
			r.log.Warn("records for a partition with no task", "topic", p.Topic, "partition", p.Partition)
			return
		}
		r.polled += len(p.Records)
		skipped, failed := in.task.Metrics.SkippedRecords, in.task.Metrics.FailedRecords
		err = r.addRecords(in, topicPartition{p.Topic, p.Partition}, p.Records)
		r.app.metrics.failed.Add(in.task.Metrics.FailedRecords - failed)
		r.app.metrics.skipped.Add(in.task.Metrics.SkippedRecords - skipped)
		// Records added can fail only by the production-error policy
		// (addRecords), and be dropped only as bad records. The
		// partition's position is its first record not processed.
		statsOf(in.task).publish(in.task, 0, in.task.Metrics.FailedRecords-failed, true)
		if ps != nil {
			ps.position.Store(in.input.Position())
		}
		if !in.restoring {
			r.touched = append(r.touched, in.task)
		}
	})
	if err != nil {
		return err
	}
	for _, t := range r.touched {
		if err := r.processWith(t, t.ProcessAll); err != nil {
			return err
		}
	}
	r.holdBack(r.touched)
	r.pauseBusy(r.touched)
	return r.wakeHeld()
}

// processWith runs process, t.ProcessAll or t.ProcessAllNow, counting what
// it processes, drops and fails.
func (r *runner) processWith(t *engine.Task, process func() error) error {
	before, dropped, failed := t.Metrics.Processed, t.Metrics.DroppedRecords, t.Metrics.FailedRecords
	err := process()
	if t.Metrics.Processed != before || t.Metrics.FailedRecords != failed {
		r.processed = true
	}
	r.app.metrics.processed.Add(t.Metrics.Processed - before)
	r.app.metrics.dropped.Add(t.Metrics.DroppedRecords - dropped)
	r.app.metrics.failed.Add(t.Metrics.FailedRecords - failed)
	ts := statsOf(t)
	ts.publish(t, t.Metrics.Processed-before, t.Metrics.FailedRecords-failed, false)
	ts.positions(t)
	return err
}

// maxTaskWait bounds how long tasks hold their records back for a lagging
// input (Config.MaxTaskIdle); then they process what they hold, as Kafka
// Streams' enforced processing does.
const maxTaskWait = 5 * time.Second

// enforceWaiting processes what tasks hold for a lagging input once they
// have each waited maxTaskWait. Called with mu held.
func (r *runner) enforceWaiting() error {
	for _, t := range r.waits.due(r.tasks, time.Now(), maxTaskWait) {
		r.log.Info("a task waited long for a lagging input; processing what it holds", "task", t.ID.String(), "waited", maxTaskWait)
		if err := r.processWith(t, t.ProcessAllNow); err != nil {
			return err
		}
	}
	return nil
}

// punctuate fires due wall-clock punctuations in every task.
func (r *runner) punctuate() error {
	now := time.Now()
	for _, t := range r.tasks {
		if err := t.PunctuateWallClock(now); err != nil {
			return err
		}
	}
	return nil
}

// commit makes everything processed since the last commit durable: under
// exactly-once as one transaction, under at-least-once by committing input
// offsets once the output they caused is acknowledged. It waits on the
// brokers at most commitTimeout. Called with mu held.
func (r *runner) commit() error {
	ctx, cancel := r.commitContext()
	defer cancel()
	r.commitStart = time.Now()
	for _, t := range r.tasks {
		t.LogDrops()
	}
	if r.eos {
		return r.commitTransaction(ctx)
	}
	return r.commitOffsets(ctx)
}

// commitOffsets waits until every output record is acknowledged, then
// commits the input offsets of everything processed. Output not
// acknowledged in time, or a commit the brokers do not take, is a
// transient failure: nothing is committed, and the next commit tries
// again.
func (r *runner) commitOffsets(ctx context.Context) error {
	r.lastCommit = time.Now()
	for _, t := range r.tasks {
		if err := t.FlushStores(); err != nil {
			return fmt.Errorf("strata: %w", err)
		}
	}
	if err := r.awaitOutput(ctx); err != nil {
		return transient("output acknowledgements", err)
	}
	if _, err := r.checkOutput(ctx); err != nil {
		return err
	}
	for _, t := range r.tasks {
		t.ReleaseOutputBuffers()
	}
	offsets := r.taskOffsets(true)
	if len(offsets) == 0 {
		return nil
	}
	var cerr error
	ctx = kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			rt := &req.Topics[i]
			for j := range rt.Partitions {
				if m := r.commitMetadata(rt.Topic, rt.Partitions[j].Partition); m != nil {
					rt.Partitions[j].Metadata = m
				}
			}
		}
		return nil
	})
	r.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && cerr == nil {
					cerr = fmt.Errorf("%s[%d]: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	if cerr != nil && transientCommitError(cerr) {
		return transient("offset commit", cerr)
	}
	if cerr != nil {
		return fmt.Errorf("strata: commit offsets: %w", cerr)
	}
	for topic, ps := range offsets {
		for p, eo := range ps {
			r.committed[topicPartition{topic, p}] = eo.Offset
		}
	}
	r.purgeRepartition(ctx, r.committedOffsets)
	r.app.metrics.commits.Add(1)
	r.app.tel.committed(r.stats, time.Since(r.commitStart))
	return nil
}

// commitMetadata is the metadata committed with the offset of partition p
// of topic: the task reading it (package commitmeta), nil for a topic no
// task reads.
func (r *runner) commitMetadata(topic string, p int32) *string {
	st, ok := r.app.top.TopicSubtopology[topic]
	if !ok {
		return nil
	}
	m := commitmeta.Encode(engine.TaskID{Subtopology: st, Partition: p}.String())
	return &m
}

// committedOffsets returns every offset this run has committed.
func (r *runner) committedOffsets() map[string]map[int32]kgo.EpochOffset {
	out := map[string]map[int32]kgo.EpochOffset{}
	for tp, off := range r.committed {
		if out[tp.topic] == nil {
			out[tp.topic] = map[int32]kgo.EpochOffset{}
		}
		out[tp.topic][tp.partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
	}
	return out
}

// shutdown is the clean exit: commit everything processed, close tasks,
// leave the group. It waits on the brokers until Config.ShutdownTimeout
// after Run's context ended.
func (r *runner) shutdown() error {
	ctx := r.produceCtx
	r.mu.Lock()
	r.stopped = true
	err := r.drainPending()
	if err == nil {
		err = r.commit()
	}
	if err != nil {
		r.failed = true
		if ctx.Err() == nil {
			// A commit the brokers did not take within its bound,
			// once more with what remains of the stop's.
			var te *transientError
			if !r.eos && errors.As(err, &te) {
				r.log.Warn("commit on stop failed; trying once more", "err", err)
				err = r.commitOffsets(ctx)
				r.failed = err != nil
			}
		}
	}
	err = errors.Join(err, r.closeTasks(ctx, nil, err == nil), r.closeStandbys(true))
	r.mu.Unlock()
	r.leave = r.leaveOnStop()
	err = errors.Join(err, r.release())
	if err != nil {
		r.log.Error("shutdown", "err", err)
		return err
	}
	r.log.Info("stopped")
	return nil
}

// crashed is a stop without any of a clean stop's work, for tests: no
// flush, no commit, no checkpoint; an open transaction is left to the
// brokers. The static member then leaves the group by its instance ID
// (leaveGroup), as the broker's session timeout would make it later, so
// that crash tests need not wait for that.
func (r *runner) crashed() error {
	r.mu.Lock()
	r.failed, r.stopped = true, true
	r.closeRestoring(nil, false)
	for _, t := range r.tasks {
		t.Close()
		r.inst.dirs.unlock(t.ID)
		r.app.tel.closed(r.index, t.ID)
	}
	r.closeStandbys(false)
	clear(r.tasks)
	clear(r.inputs)
	r.leave = true
	r.mu.Unlock()
	r.release()
	r.log.Warn("crashed (test hook)")
	return errCrashed
}

// errCrashed is what Run returns after the test crash hook.
var errCrashed = errors.New("strata: crashed by test hook")

// stop ends the loop with err: errStopping (a reset interrupted by Run's
// context, after which nothing is left to commit or close) stops cleanly,
// anything else aborts.
func (r *runner) stop(err error) error {
	var done *stoppedError
	if errors.As(err, &done) {
		return done.err
	}
	if errors.Is(err, errStopping) {
		r.mu.Lock()
		r.stopped = true
		r.mu.Unlock()
		r.release()
		r.log.Info("stopped")
		return nil
	}
	return r.abort(err)
}

// abort is the exit on failure: nothing more is committed, so the failed
// work is processed again by whoever takes the partitions next.
func (r *runner) abort(cause error) error {
	r.mu.Lock()
	r.failed, r.stopped = true, true
	closeErr := r.abortTransaction()
	// Standby tasks close without a checkpoint too: the failure may be
	// theirs, a batch half applied.
	closeErr = errors.Join(closeErr, r.closeTasks(context.Background(), nil, false), r.closeStandbys(false))
	r.mu.Unlock()
	r.leave = r.leaveOnStop()
	closeErr = errors.Join(closeErr, r.release())
	r.log.Error("stopped on error", "err", cause)
	return errors.Join(cause, closeErr)
}

// producer is the runner as its tasks' collector.
type producer runner

func (p *producer) Send(rec *kgo.Record) error {
	r := (*runner)(p)
	if err := r.begin(); err != nil {
		return err
	}
	r.output.sent()
	r.cl.Produce(r.produceCtx, rec, r.output.promise)
	return nil
}

// PartitionCount looks topics up once and caches the answer.
func (p *producer) PartitionCount(topic string) (int, error) {
	r := (*runner)(p)
	if n, ok := r.partitions[topic]; ok {
		return n, nil
	}
	details, err := r.adm.ListTopics(r.produceCtx, topic)
	if err != nil {
		return 0, fmt.Errorf("look up topic %q: %w", topic, err)
	}
	d, ok := details[topic]
	if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return 0, fmt.Errorf("output topic %q does not exist", topic)
	}
	if d.Err != nil {
		return 0, fmt.Errorf("look up topic %q: %w", topic, d.Err)
	}
	r.partitions[topic] = len(d.Partitions)
	return len(d.Partitions), nil
}

// crashing reports whether the test crash hook fired: a crashing worker
// commits nothing more, not even when a rebalance revokes its tasks.
func (r *runner) crashing() bool {
	select {
	case <-r.app.crash:
		return true
	default:
		return false
	}
}
