package strata

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Every wait of a worker on the brokers is bounded, and ends when Run's
// context does (for a clean stop, Config.ShutdownTimeout after it):
//
//   - a poll, by Config.PollTimeout;
//   - a commit (flushing output, committing offsets or a transaction), by
//     commitTimeout: the transaction timeout under exactly-once, the
//     session timeout under at-least-once;
//   - leaving the group and closing a client, by closeTimeout;
//   - initialising a transactional producer and joining the group again
//     after a reset, by attemptTimeout per attempt, retried with backoff.
//
// A broker outage shorter than these is ridden out; a longer one fails the
// wait, which is logged at WARN and retried (see reset.go).

const (
	// closeTimeout bounds leaving the group and closing a client. A
	// close that takes longer is abandoned (logged), its goroutines left
	// to finish in the background.
	closeTimeout = 5 * time.Second
	// attemptTimeout bounds one attempt at an operation retried with
	// backoff, such as initialising a producer.
	attemptTimeout = 10 * time.Second
	// minBackoff and maxBackoff bound the wait between attempts.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// defaultTransactionTimeout is the transaction timeout Strata gives
	// its transactional producers unless Config.ClientOptions says
	// otherwise: Kafka Streams' default under exactly-once. The brokers
	// abort a transaction open longer, so an instance that dies with a
	// transaction open holds back read_committed readers and its tasks'
	// next owner for at most this long.
	defaultTransactionTimeout = 10 * time.Second
)

// stopContext returns a context that ends grace after ctx does, and its
// cancel function: the bound of a clean stop.
func stopContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	stop, cancel := context.WithCancel(context.WithoutCancel(ctx))
	unregister := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(stop, func() { t.Stop() })
	})
	return stop, func() {
		unregister()
		cancel()
	}
}

// commitTimeout bounds one commit's wait on the brokers: the transaction
// timeout under exactly-once (the brokers abort a transaction open longer
// anyway), the group session timeout under at-least-once.
func (r *runner) commitTimeout() time.Duration {
	if r.eos {
		if d, ok := r.cl.OptValue(kgo.TransactionTimeout).(time.Duration); ok && d > 0 {
			return d
		}
		return defaultTransactionTimeout
	}
	if d, ok := r.cl.OptValue(kgo.SessionTimeout).(time.Duration); ok && d > 0 {
		return d
	}
	return 45 * time.Second
}

// commitContext is the context of one commit: bounded by commitTimeout and
// by the end of a clean stop.
func (r *runner) commitContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.produceCtx, r.commitTimeout())
}

// closeClient leaves the group and closes cl, waiting at most closeTimeout.
// franz-go's Close waits for the group to be left, which can take the
// rebalance timeout and more while a join is unanswered; past the bound the
// close goes on in the background.
func (r *runner) closeClient(cl *kgo.Client) {
	if cl == nil {
		return
	}
	// A rebalance held back for an open transaction would hold the
	// close back too.
	cl.AllowRebalance()
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A static member does not leave (its restart takes its
		// assignment back); the wait for the leave is bounded here.
		_ = cl.LeaveGroupContext(ctx)
		cl.Close()
	}()
	select {
	case <-done:
	case <-time.After(closeTimeout + time.Second):
		r.log.Warn("closing the Kafka client took too long; leaving it to finish in the background", "waited", closeTimeout+time.Second)
	}
}

// backoff returns the wait before attempt n (from 1) of a retried
// operation: doubling from minBackoff up to maxBackoff.
func backoff(n int) time.Duration {
	d := minBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// sleepCtx waits d, or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
