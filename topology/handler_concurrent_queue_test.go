package topology

import (
	"sync"
	"testing"
)

// TestWorkQueueHandsEachRecordOnce pushes records while goroutines pop
// them, some of them idle when the pushes start: every record is taken
// exactly once, and close ends the goroutines, idle or not.
func TestWorkQueueHandsEachRecordOnce(t *testing.T) {
	const goroutines, records = 8, 5000
	var q workQueue[string, string]
	q.init(goroutines)
	var mu sync.Mutex
	seen := map[*inFlight[string, string]]int{}
	var popped, ended sync.WaitGroup
	popped.Add(records)
	ended.Add(goroutines)
	for range goroutines {
		go func() {
			defer ended.Done()
			for {
				it := q.pop()
				if it == nil {
					return
				}
				mu.Lock()
				seen[it]++
				mu.Unlock()
				popped.Done()
			}
		}()
	}
	items := make([]*inFlight[string, string], records)
	for i := range items {
		items[i] = &inFlight[string, string]{}
		q.push(items[i])
	}
	popped.Wait()
	q.close()
	ended.Wait()
	for i, it := range items {
		if seen[it] != 1 {
			t.Fatalf("record %d taken %d times, want once", i, seen[it])
		}
	}
	if len(seen) != records {
		t.Fatalf("%d records taken, want %d", len(seen), records)
	}
}

// TestDoneQueuePostsOncePerBatch checks that only the first record pushed
// after a take asks for a drain, and that take returns the records in the
// order they were pushed.
func TestDoneQueuePostsOncePerBatch(t *testing.T) {
	var q doneQueue[string, string]
	a, b, c := &inFlight[string, string]{}, &inFlight[string, string]{}, &inFlight[string, string]{}
	if !q.push(a) {
		t.Fatal("the first push does not ask for a drain")
	}
	if q.push(b) {
		t.Fatal("a second push before the drain asks for another")
	}
	got := q.take()
	if len(got) != 2 || got[0] != a || got[1] != b {
		t.Fatalf("take returned %v, want [a b]", got)
	}
	if !q.push(c) {
		t.Fatal("the first push after a take does not ask for a drain")
	}
	if got := q.take(); len(got) != 1 || got[0] != c {
		t.Fatalf("take returned %v, want [c]", got)
	}
	if got := q.take(); len(got) != 0 {
		t.Fatalf("take of an empty queue returned %v", got)
	}
}
