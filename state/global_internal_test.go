package state

import (
	"fmt"
	"testing"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

type nopProc[K, V any] struct{}

func (nopProc[K, V]) Init(topology.Context[K, V]) error   { return nil }
func (nopProc[K, V]) Process(topology.Record[K, V]) error { return nil }
func (nopProc[K, V]) Close() error                        { return nil }

// A task reads a global store through its view while the global task writes
// it from another goroutine: every read sees a value written, never one
// older than a value read before, and the final values once writes stop.
// Run with -race.
func TestGlobalViewReadsWhileGlobalTaskWrites(t *testing.T) {
	b := topology.NewBuilder()
	AddKeyValueStore(b, "g", serde.String(), serde.Int64(), Logging(false))
	topology.AddGlobalStore(b, "g", "g-src",
		topology.Source[string, int64]{Topics: []string{"g-topic"}, KeySerde: serde.String(), ValueSerde: serde.Int64()},
		"g-update", func() topology.Processor[string, int64, string, int64] { return nopProc[string, int64]{} })
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] { return nopProc[string, string]{} }, "src")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	etop := engine.Built(*top).Topology()
	cfg := engine.TaskConfig{State: engine.StateConfig{Dir: t.TempDir(), Open: func(dir string) (engine.TaskStorage, error) {
		return kv.OpenPebble(dir, kv.PebbleOptions{})
	}}}
	g, err := engine.NewGlobalTask(etop, map[string]int{"g-topic": 2}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.InitStores(); err != nil {
		t.Fatal(err)
	}
	cfg.Global = g
	task, err := engine.NewTask(etop, etop.Subtopologies[0], 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.InitStores(); err != nil {
		t.Fatal(err)
	}
	v, err := task.GlobalStore("g")
	if err != nil {
		t.Fatal(err)
	}
	view := v.(KeyValueStore[string, int64])
	global := g.StoreByName("g").(KeyValueStore[string, int64])

	const keys, writes = 50, 5000
	done := make(chan error)
	go func() {
		for i := range writes {
			if err := global.Put(fmt.Sprintf("k%02d", i%keys), int64(i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	last := map[string]int64{}
	read := func() {
		it, err := view.All()
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			k, v := it.Key(), it.Value()
			if v < last[k] {
				t.Fatalf("%s read %d after %d", k, v, last[k])
			}
			last[k] = v
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
			read()
		}
	}
	read()
	for i := writes - keys; i < writes; i++ {
		k := fmt.Sprintf("k%02d", i%keys)
		if got, ok, err := view.Get(k); err != nil || !ok || got != int64(i) {
			t.Errorf("view.Get(%s) = %d, %v, %v; want %d", k, got, ok, err, i)
		}
	}
	if err := view.Put("k00", 1); err == nil {
		t.Error("a write through the view succeeded")
	}
	if err := task.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}
