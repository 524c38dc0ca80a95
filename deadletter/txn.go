package deadletter

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// errSilentAbort is a transaction that the client ended with an abort when
// asked to commit, without an error: kgo (v1.22.2) does so, now and then,
// when a transaction's first records go to a topic the client had not
// produced to before (it finds no partition added to the transaction).
var errSilentAbort = errors.New("the Kafka client aborted the transaction it was asked to commit")

// commitTries bounds how many times a change whose transaction the client
// aborted silently is run.
const commitTries = 3

// txn is a change's open transaction.
type txn struct {
	cl        *kgo.Client // the transactional client
	s         *DeadSet
	open      bool
	records   int
	bytes     int
	positions map[int32]int64 // the positions to move at commit
	// written are the records of the open transaction, the last of which
	// commit reads back (the client sets their offsets).
	written []*kgo.Record
	// check is the client that reads back what a commit wrote, created at
	// the first commit.
	check *kgo.Client
	mu    sync.Mutex
	err   error // the first produce error
}

// produce writes r in the transaction, beginning it if need be.
func (t *txn) produce(ctx context.Context, r *kgo.Record) {
	if !t.open {
		if err := t.cl.BeginTransaction(); err != nil {
			t.setErr(err)
			return
		}
		t.open = true
	}
	t.records++
	t.bytes += len(r.Key) + len(r.Value)
	t.written = append(t.written, r)
	t.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
		if err != nil {
			t.setErr(fmt.Errorf("write %s[%d]: %w", r.Topic, r.Partition, err))
		}
	})
}

func (t *txn) setErr(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = err
	}
}

func (t *txn) firstErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// commit commits the transaction, if one is open, and checks that it is
// committed: a transaction the client aborted instead is an error wrapping
// errSilentAbort.
func (t *txn) commit(ctx context.Context) error {
	if !t.open {
		return t.firstErr()
	}
	if err := t.cl.Flush(ctx); err != nil {
		return err
	}
	if err := t.firstErr(); err != nil {
		return fenced(err)
	}
	t.open = false
	if err := t.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("commit: %w", fenced(err))
	}
	switch ok, err := t.committed(ctx); {
	case err != nil:
		return fmt.Errorf("commit: read back what it wrote: %w", err)
	case !ok:
		return fmt.Errorf("commit: %w", errSilentAbort)
	}
	t.records, t.bytes = 0, 0
	clear(t.positions)
	clear(t.written)
	t.written = t.written[:0]
	return nil
}

// committed reports whether the transaction just ended was committed: a
// read_committed read of the last record it wrote finds that record, not
// the abort marker after it.
func (t *txn) committed(ctx context.Context) (bool, error) {
	last := t.written[len(t.written)-1]
	if t.check == nil {
		cl, err := t.s.client(false)
		if err != nil {
			return false, err
		}
		t.check = cl
	}
	found := false
	_, err := scan(ctx, t.check, last.Topic, last.Partition, last.Offset, last.Offset+1, func(*kgo.Record) bool {
		found = true
		return false
	})
	return found, err
}

// abort aborts the open transaction, if any, as well as it can: a
// transaction left open is aborted by the brokers after its timeout, or by
// the next change's initialisation.
func (t *txn) abort(ctx context.Context) {
	if !t.open {
		return
	}
	t.open = false
	if err := t.cl.AbortBufferedRecords(ctx); err != nil {
		return
	}
	_ = t.cl.EndTransaction(ctx, kgo.TryAbort)
}

// close closes the client that checks commits.
func (t *txn) close() {
	if t.check != nil {
		t.check.Close()
	}
}

// fenced returns err, wrapped with ErrConcurrentChange when another change
// fenced this one: its producer's epoch is old, or (under KIP-890's
// transactions, where the fencing initialisation aborts the open
// transaction and bumps the epoch by one, which a commit of the old epoch
// looks like a retry of) its transaction was ended for it.
func fenced(err error) error {
	if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.InvalidTxnState) {
		return fmt.Errorf("%w: %w", ErrConcurrentChange, err)
	}
	return err
}
