package kv

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestBufIndexCollision checks that a lookup whose hash leads to another
// key's write does not answer for it: two keys with the same hash (forced
// here) make the earlier one unknown, for the caller to read through an
// iterator, while the later one is still answered.
func TestBufIndexCollision(t *testing.T) {
	b := new(pebble.Batch)
	x := newBufIndex()
	write := func(key, value string) {
		off := b.Len()
		if err := b.Set([]byte(key), []byte(value), nil); err != nil {
			t.Fatal(err)
		}
		x.wrote(pebble.InternalKeyKindSet, []byte(key), off)
	}
	write("a", "1")
	write("b", "2")
	if v, st := x.lookup(b.Repr(), []byte("a")); st != bufSet || string(v) != "1" {
		t.Fatalf("lookup(a) = %q, %v; want 1 from the batch", v, st)
	}
	// Make a's hash point at b's write, as a collision would.
	x.at[x.hash([]byte("a"))] = x.at[x.hash([]byte("b"))]
	if _, st := x.lookup(b.Repr(), []byte("a")); st != bufUnknown {
		t.Errorf("lookup(a) colliding with b = %v; want unknown", st)
	}
	if v, st := x.lookup(b.Repr(), []byte("b")); st != bufSet || string(v) != "2" {
		t.Errorf("lookup(b) = %q, %v; want 2", v, st)
	}
	if _, st := x.lookup(b.Repr(), []byte("c")); st != bufAbsent {
		t.Errorf("lookup(c) = %v; want absent", st)
	}
	// A write the index does not understand makes every lookup unknown.
	x.wrote(pebble.InternalKeyKindMerge, []byte("m"), b.Len())
	if _, st := x.lookup(b.Repr(), []byte("b")); st != bufUnknown {
		t.Errorf("lookup(b) after an unknown write = %v; want unknown", st)
	}
}
