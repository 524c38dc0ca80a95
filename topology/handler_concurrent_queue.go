package topology

import "sync"

// A concurrent handler's records cross between the task's goroutine and the
// goroutines calling its function in batches, not one handoff per record:
//
//   - workQueue: the task appends the records ready to run, waking an
//     idle goroutine for each while there are some (a function that waits
//     on I/O gets a goroutine per record, up to the handler's
//     concurrency); a goroutine whose call returned takes the next queued
//     record without sleeping, so goroutines already running drain a
//     burst of records that a function handles at once.
//   - doneQueue: a goroutine whose call returned appends the record; the
//     first record appended after the task last drained posts one drain
//     to the task (engine.Task.Post, which wakes the runtime's loop), and
//     the drain completes every record appended by the time it runs.

// workQueue hands records to the goroutines calling the function.
type workQueue[K, V any] struct {
	mu    sync.Mutex
	items []*inFlight[K, V]
	head  int
	// idle counts the goroutines waiting on wake and not yet signalled.
	idle   int
	closed bool
	// wake signals an idle goroutine; its room is the number of
	// goroutines, so a signal never blocks.
	wake chan struct{}
}

func (q *workQueue[K, V]) init(goroutines int) {
	q.wake = make(chan struct{}, goroutines)
}

// push queues it and wakes an idle goroutine, if any. Called on the task's
// goroutine.
func (q *workQueue[K, V]) push(it *inFlight[K, V]) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, it)
	signal := q.idle > 0
	if signal {
		q.idle--
	}
	q.mu.Unlock()
	if signal {
		q.wake <- struct{}{}
	}
}

// pop returns the next record to call the function for, waiting while
// there is none; nil once the queue is closed.
func (q *workQueue[K, V]) pop() *inFlight[K, V] {
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return nil
		}
		if q.head < len(q.items) {
			it := q.items[q.head]
			q.items[q.head] = nil
			q.head++
			if q.head == len(q.items) {
				q.items, q.head = q.items[:0], 0
			}
			q.mu.Unlock()
			return it
		}
		q.idle++
		q.mu.Unlock()
		<-q.wake
		q.mu.Lock()
	}
}

// close ends the goroutines: those waiting now, and the others once their
// call returns. Records still queued are not called.
func (q *workQueue[K, V]) close() {
	q.mu.Lock()
	q.closed = true
	idle := q.idle
	q.idle = 0
	q.mu.Unlock()
	for range idle {
		q.wake <- struct{}{}
	}
}

// doneQueue collects the records whose call returned, for the task to
// complete in batches.
type doneQueue[K, V any] struct {
	mu    sync.Mutex
	items []*inFlight[K, V]
	spare []*inFlight[K, V]
	// posted is set while a drain is posted to the task and has not
	// taken the records yet.
	posted bool
}

// push appends it and reports whether the caller must post a drain.
func (q *doneQueue[K, V]) push(it *inFlight[K, V]) bool {
	q.mu.Lock()
	q.items = append(q.items, it)
	post := !q.posted
	q.posted = true
	q.mu.Unlock()
	return post
}

// take returns the records appended since the last take; the next push
// posts a drain again. The slice is valid until the next take. Called on
// the task's goroutine.
func (q *doneQueue[K, V]) take() []*inFlight[K, V] {
	q.mu.Lock()
	items := q.items
	q.items = q.spare[:0]
	q.posted = false
	q.mu.Unlock()
	q.spare = items
	return items
}
