package query

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
	"github.com/strata-go/strata/serde"
)

// Source is what holds the stores a query reads: a *strata.App, a
// *strata.View or a *testutil.Driver. Only Strata's types implement it.
type Source interface {
	// QuerySource is how package query reaches the stores. Its result
	// is internal to Strata: call the functions of this package instead.
	QuerySource() iq.Source
}

// Option configures a store handle.
type Option func(*options)

type options struct {
	standby  *iq.Standby
	pageSize int
}

// FromStandby lets the handle read a standby replica of a partition this
// instance does not run, when the replica is at most maxLag changelog
// records behind the changelog's end (its last stable offset as last
// fetched): the values read are then at most that many updates old. A
// partition this instance runs is always read from the active task. Only
// the App has standby replicas (Config.StandbyReplicas), of persistent
// logged stores only.
func FromStandby(maxLag int64) Option {
	return func(o *options) { o.standby = &iq.Standby{MaxLag: max(maxLag, 0)} }
}

// PageSize sets how many entries an iterator reads at a time, holding off
// the task that owns the partition meanwhile (see the package doc).
// Default 256.
func PageSize(n int) Option {
	return func(o *options) { o.pageSize = n }
}

const defaultPageSize = 256

// handle is what every typed store handle holds.
type handle struct {
	src   iq.Source
	store *iq.Store
	name  string
	// global marks a global store: every instance holds all of it, as
	// partition 0.
	global    bool
	changelog string
	opts      options
	// n is the store's partition count once known, else 0: it does not
	// change while the source runs (an App stops if a source topic's
	// count changes).
	n atomic.Int32
}

// newHandle checks that src has a store called name of the given kind and
// returns its sample instance, to check its types.
func newHandle(src Source, name, kind string, opts []Option) (*handle, engine.Store, error) {
	if src == nil {
		return nil, nil, fmt.Errorf("query: %s store %q: nil source", kind, name)
	}
	s := src.QuerySource()
	store, err := iq.Resolve(s.Topology(), name)
	if err != nil {
		return nil, nil, err
	}
	h := &handle{src: s, store: store, name: name, global: store.Def.Global, changelog: engine.ChangelogTopic(s.ApplicationID(), name), opts: options{pageSize: defaultPageSize}}
	for _, o := range opts {
		if o != nil {
			o(&h.opts)
		}
	}
	if h.opts.pageSize < 1 {
		return nil, nil, fmt.Errorf("query: store %q: PageSize(%d): must be at least 1", name, h.opts.pageSize)
	}
	sample := store.Def.New()
	if sample == nil {
		return nil, nil, fmt.Errorf("%w %q: it has no constructor", ErrUnknownStore, name)
	}
	return h, sample, nil
}

// typeError is the error of a handle asking for other types than the
// store's.
func typeError[K, V any](name, kind string, sample engine.Store) error {
	var k K
	var v V
	what := fmt.Sprintf("%T", sample)
	if d, ok := sample.(iq.Describer); ok {
		what = d.QueryDescribe()
	}
	return fmt.Errorf("%w: store %q is a %s, not a %s store of key %T and value %T", ErrStoreType, name, what, kind, k, v)
}

// keyBufs holds buffers keys are serialized into to find their partition.
var keyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64); return &b }}

// partition returns the partition holding the key whose store encoding
// enc is: the one Kafka's default partitioner (murmur2) picks among the
// store's partitions, the partition count of its sub-topology's source
// topics, as the key's records were partitioned.
func (h *handle) partition(enc []byte) (int32, error) {
	if h.global {
		return 0, nil
	}
	n, err := h.partitions()
	if err != nil {
		return 0, err
	}
	return engine.KeyPartition(enc, n), nil
}

// partitions returns the store's partition count.
func (h *handle) partitions() (int, error) {
	if n := h.n.Load(); n > 0 {
		return int(n), nil
	}
	n, err := h.src.Partitions(h.store)
	if err != nil {
		return 0, err
	}
	h.n.Store(int32(n))
	return n, nil
}

// keyPartition serializes key with ks and returns its partition.
func keyPartition[K any](h *handle, ks serde.Serde[K], key K) (int32, error) {
	bp := keyBufs.Get().(*[]byte)
	defer keyBufs.Put(bp)
	enc, err := serializeKey(h, ks, (*bp)[:0], key)
	if err != nil {
		return 0, err
	}
	*bp = enc[:0]
	return h.partition(enc)
}

// keyAt serializes key with ks, in a buffer of its own, and returns its
// encoding and partition.
func keyAt[K any](h *handle, ks serde.Serde[K], key K) ([]byte, int32, error) {
	enc, err := serializeKey(h, ks, nil, key)
	if err != nil {
		return nil, 0, err
	}
	p, err := h.partition(enc)
	return enc, p, err
}

// serializeKey appends key, serialized with ks as the store does, to dst.
func serializeKey[K any](h *handle, ks serde.Serde[K], dst []byte, key K) ([]byte, error) {
	enc, err := ks.Serialize(dst, h.changelog, key)
	if err != nil {
		return nil, keyError(h, err)
	}
	if enc == nil {
		return nil, fmt.Errorf("query: store %q: the key serializes to null, which no store holds", h.name)
	}
	return enc, nil
}

// acquire returns partition p of the store, as the handle's options allow,
// and the lease to release once read.
func (h *handle) acquire(ctx context.Context, p int32) (engine.Store, iq.Lease, error) {
	return h.src.Acquire(ctx, h.store, p, h.opts.standby)
}

// read runs fn on partition p of the store, as the handle's options allow.
func (h *handle) read(ctx context.Context, p int32, fn func(engine.Store) error) error {
	st, lease, err := h.acquire(ctx, p)
	if err != nil {
		return err
	}
	defer lease.Release()
	return fn(st)
}

// local lists the partitions this instance serves.
func (h *handle) local() ([]int32, error) {
	return h.src.Local(h.store, h.opts.standby)
}

// localOr returns parts, or the partitions this instance serves when parts
// is nil.
func (h *handle) localOr(parts []int32) ([]int32, error) {
	if parts != nil {
		return parts, nil
	}
	return h.local()
}

// keyError is the error of a key the store's key serde cannot serialize.
func keyError(h *handle, err error) error {
	return fmt.Errorf("query: store %q: serialize key: %w", h.name, err)
}
