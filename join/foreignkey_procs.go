package join

import (
	"bytes"
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// subscribeProc turns left row updates into subscriptions, as Kafka
// Streams' SubscriptionSendProcessorSupplier.
type subscribeProc[K, V1, KO any] struct {
	ctx            topology.Context[KO, fkSubscription[K]]
	fk             func(V1) KO
	foreign        serde.Serde[KO]
	left           serde.Serde[V1]
	topic          string
	leftJoin       bool
	hash           *fkHasher
	oldBuf, newBuf []byte
	// The current record's hash, computed once.
	cur    valueHash
	curSet bool
}

func (p *subscribeProc[K, V1, KO]) Init(ctx topology.Context[KO, fkSubscription[K]]) error {
	p.ctx = ctx
	return nil
}

func (p *subscribeProc[K, V1, KO]) Close() error { return nil }

// encode returns fk's encoding into *buf; nil means a null foreign key.
func (p *subscribeProc[K, V1, KO]) encode(buf *[]byte, fk KO) ([]byte, error) {
	b, err := p.foreign.Serialize((*buf)[:0], p.topic, fk)
	if err != nil {
		return nil, fmt.Errorf("foreign-key join: serialize foreign key: %w", err)
	}
	if b != nil {
		*buf = b
	}
	return b, nil
}

func (p *subscribeProc[K, V1, KO]) Process(r topology.Record[K, dsl.Change[V1]]) error {
	p.curSet = false
	if skipOutOfOrder(p.ctx, r.Value, "foreign-key join") {
		return nil
	}
	ch := r.Value
	var oldFK, newFK KO
	var ob, nb []byte
	var err error
	if ch.HasOld {
		oldFK = p.fk(ch.Old)
		if ob, err = p.encode(&p.oldBuf, oldFK); err != nil {
			return err
		}
	}
	if ch.HasNew {
		newFK = p.fk(ch.New)
		if nb, err = p.encode(&p.newBuf, newFK); err != nil {
			return err
		}
	}
	if p.leftJoin {
		// KTable#leftJoin: a null foreign key still gets its result.
		switch {
		case ch.HasOld:
			if ob != nil && !bytes.Equal(ob, nb) {
				if err := p.send(r, oldFK, false, deleteAndPropagate); err != nil {
					return err
				}
			}
			return p.send(r, newFK, nb == nil, propagateNullIfNoValue)
		case ch.HasNew:
			return p.send(r, newFK, nb == nil, propagateNullIfNoValue)
		}
		return nil
	}
	switch {
	case ch.HasOld:
		if ob == nil {
			p.ctx.SkipRecord("null foreign key")
			return nil
		}
		if !ch.HasNew {
			return p.send(r, oldFK, false, deleteAndPropagate)
		}
		if nb == nil {
			p.ctx.SkipRecord("null foreign key")
			return nil
		}
		if !bytes.Equal(ob, nb) {
			// Moved: unsubscribe silently; the new foreign key's
			// answer updates the result, even with no row, so that
			// the old result is retracted.
			if err := p.send(r, oldFK, false, deleteNoPropagate); err != nil {
				return err
			}
		}
		return p.send(r, newFK, false, propagateNullIfNoValue)
	case ch.HasNew:
		if nb == nil {
			p.ctx.SkipRecord("null foreign key")
			return nil
		}
		return p.send(r, newFK, false, propagateOnlyIfValue)
	}
	return nil
}

// send forwards a subscription of r's key to foreign key fk, with the hash
// of r's new value.
func (p *subscribeProc[K, V1, KO]) send(r topology.Record[K, dsl.Change[V1]], fk KO, noFK bool, instr instruction) error {
	if !p.curSet && r.Value.HasNew {
		h, ok, err := hashOf(p.hash, p.left, p.topic, r.Value.New)
		if err != nil {
			return err
		}
		p.cur, p.curSet = h, ok
	}
	sub := fkSubscription[K]{instr: instr, hash: p.cur, hasHash: p.curSet, noFK: noFK, partition: p.ctx.TaskID().Partition, pk: r.Key}
	return p.ctx.Forward(topology.WithKeyValue(r, fk, sub))
}

// receiveProc keeps subscriptions and answers them with the right row, as
// Kafka Streams' SubscriptionReceiveProcessorSupplier and
// SubscriptionJoinProcessorSupplier together.
type receiveProc[K, KO, V2 any] struct {
	ctx                  topology.Context[K, fkResponse[V2]]
	subStore, rightStore string
	subsStore            state.KeyValueStore[[]byte, []byte]
	rows                 state.KeyValueStore[KO, state.Timestamped[V2]]
	foreign              serde.Serde[KO]
	key                  serde.Serde[K]
	subs                 fkSubscriptionSerde[K]
	topic                string
	fkBuf, pkBuf         []byte
	keyBuf, valBuf       []byte
}

func (p *receiveProc[K, KO, V2]) Init(ctx topology.Context[K, fkResponse[V2]]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[[]byte, []byte](ctx, p.subStore)
	if err != nil {
		return err
	}
	p.subsStore = s
	p.rows, err = lookupRows[KO, V2](ctx, p.rightStore)
	return err
}

func (p *receiveProc[K, KO, V2]) Close() error { return nil }

func (p *receiveProc[K, KO, V2]) Process(r topology.Record[KO, fkSubscription[K]]) error {
	sub := r.Value
	noFK := sub.noFK || r.HasNullKey()
	if noFK && sub.instr != propagateNullIfNoValue {
		p.ctx.SkipRecord("null foreign key")
		return nil
	}
	var row state.Timestamped[V2]
	found := false
	if !noFK {
		if err := p.register(r.Key, sub); err != nil {
			return err
		}
		var err error
		if row, found, err = p.rows.Get(r.Key); err != nil {
			return fmt.Errorf("foreign-key join: read store %q: %w", p.rightStore, err)
		}
	}
	resp := fkResponse[V2]{hash: sub.hash, hasHash: sub.hasHash, partition: sub.partition}
	ts := r.Timestamp
	if found {
		resp.value, resp.hasValue = row.Value, true
		if row.Timestamp.After(ts) {
			ts = row.Timestamp
		}
	}
	switch sub.instr {
	case deleteNoPropagate:
		return nil
	case deleteAndPropagate:
		resp.value, resp.hasValue = *new(V2), false
	case propagateOnlyIfValue:
		if !found {
			return nil
		}
	}
	return p.ctx.Forward(topology.Record[K, fkResponse[V2]]{Key: sub.pk, Value: resp, Timestamp: ts, Headers: r.Headers})
}

// register adds or removes the subscription in the store.
func (p *receiveProc[K, KO, V2]) register(fk KO, sub fkSubscription[K]) error {
	fb, err := p.foreign.Serialize(p.fkBuf[:0], p.topic, fk)
	if err != nil {
		return fmt.Errorf("foreign-key join: serialize foreign key: %w", err)
	}
	p.fkBuf = fb
	pb, err := p.key.Serialize(p.pkBuf[:0], p.topic, sub.pk)
	if err != nil {
		return fmt.Errorf("foreign-key join: serialize primary key: %w", err)
	}
	p.pkBuf = pb
	// The store copies what it keeps: the buffers are reused.
	p.keyBuf = appendCombinedKey(p.keyBuf[:0], fb, pb)
	if sub.instr == deleteNoPropagate || sub.instr == deleteAndPropagate {
		err = p.subsStore.Delete(p.keyBuf)
	} else if p.valBuf, err = p.subs.Serialize(p.valBuf[:0], p.topic, sub); err == nil {
		err = p.subsStore.Put(p.keyBuf, p.valBuf)
	}
	if err != nil {
		return fmt.Errorf("foreign-key join: store %q: %w", p.subStore, err)
	}
	return nil
}

// foreignProc answers every subscriber of a right row when it changes, as
// Kafka Streams' ForeignTableJoinProcessorSupplier.
type foreignProc[K, KO, V2 any] struct {
	ctx       topology.Context[K, fkResponse[V2]]
	subStore  string
	subsStore state.KeyValueStore[[]byte, []byte]
	foreign   serde.Serde[KO]
	subs      fkSubscriptionSerde[K]
	topic     string
	fkBuf     []byte
	prefix    []byte
	found     []fkSubscription[K]
}

func (p *foreignProc[K, KO, V2]) Init(ctx topology.Context[K, fkResponse[V2]]) error {
	p.ctx = ctx
	s, err := state.LookupKeyValue[[]byte, []byte](ctx, p.subStore)
	p.subsStore = s
	return err
}

func (p *foreignProc[K, KO, V2]) Close() error { return nil }

func (p *foreignProc[K, KO, V2]) Process(r topology.Record[KO, dsl.Change[V2]]) error {
	if r.HasNullKey() {
		p.ctx.SkipRecord("null key in foreign-key join")
		return nil
	}
	if skipOutOfOrder(p.ctx, r.Value, "foreign-key join") {
		return nil
	}
	fb, err := p.foreign.Serialize(p.fkBuf[:0], p.topic, r.Key)
	if err != nil {
		return fmt.Errorf("foreign-key join: serialize foreign key: %w", err)
	}
	p.fkBuf = fb
	p.prefix = appendCombinedKey(p.prefix[:0], fb, nil)
	if err := p.scan(p.prefix); err != nil {
		return err
	}
	for _, sub := range p.found {
		resp := fkResponse[V2]{hash: sub.hash, hasHash: sub.hasHash, partition: sub.partition, value: r.Value.New, hasValue: r.Value.HasNew}
		if err := p.ctx.Forward(topology.Record[K, fkResponse[V2]]{Key: sub.pk, Value: resp, Timestamp: r.Timestamp, Headers: r.Headers}); err != nil {
			return err
		}
	}
	return nil
}

// scan collects the subscriptions whose store keys start with prefix.
func (p *foreignProc[K, KO, V2]) scan(prefix []byte) error {
	clear(p.found)
	p.found = p.found[:0]
	it, err := p.subsStore.PrefixScan(prefix)
	if err != nil {
		return fmt.Errorf("foreign-key join: scan store %q: %w", p.subStore, err)
	}
	for it.Next() {
		sub, err := p.subs.Deserialize(p.topic, it.Value())
		if err != nil {
			it.Close()
			return fmt.Errorf("foreign-key join: store %q: %w", p.subStore, err)
		}
		p.found = append(p.found, sub)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("foreign-key join: scan store %q: %w", p.subStore, err)
	}
	return nil
}

// resolveProc joins responses with the left row they answer, as Kafka
// Streams' ResponseJoinProcessorSupplier, dropping stale ones.
type resolveProc[K, V1, V2, VR any] struct {
	ctx       topology.Context[K, VR]
	leftStore string
	rows      state.KeyValueStore[K, state.Timestamped[V1]]
	left      serde.Serde[V1]
	topic     string
	joiner    func(l V1, r V2, hasR bool) VR
	leftJoin  bool
	hash      *fkHasher
}

func (p *resolveProc[K, V1, V2, VR]) Init(ctx topology.Context[K, VR]) error {
	p.ctx = ctx
	var err error
	p.rows, err = lookupRows[K, V1](ctx, p.leftStore)
	return err
}

func (p *resolveProc[K, V1, V2, VR]) Close() error { return nil }

func (p *resolveProc[K, V1, V2, VR]) Process(r topology.Record[K, fkResponse[V2]]) error {
	row, found, err := p.rows.Get(r.Key)
	if err != nil {
		return fmt.Errorf("foreign-key join: read store %q: %w", p.leftStore, err)
	}
	var cur valueHash
	hasCur := false
	if found {
		if cur, hasCur, err = hashOf(p.hash, p.left, p.topic, row.Value); err != nil {
			return err
		}
	}
	resp := r.Value
	if hasCur != resp.hasHash || cur != resp.hash {
		// The response answers a value the left row no longer has.
		p.ctx.SkipRecord("stale foreign-key join response")
		return nil
	}
	if !found || !resp.hasValue && !p.leftJoin {
		return p.ctx.Forward(topology.Tombstone(topology.WithValue(r, *new(VR))))
	}
	return p.ctx.Forward(topology.WithValue(r, p.joiner(row.Value, resp.value, resp.hasValue)))
}

// resultProc keeps the foreign-key join's result rows and forwards each
// update with the row's old value, as the KTableSource Kafka Streams puts
// after the join. Unlike a table read from a topic, it forwards the delete
// of a row it does not hold, as Kafka's does without a cache: an inner join
// cannot tell whether the row it deletes was ever emitted.
type resultProc[K, VR any] struct {
	store string
	rows  state.KeyValueStore[K, state.Timestamped[VR]]
	out   dsl.RowForwarder[K, VR]
}

func (p *resultProc[K, VR]) Init(ctx topology.Context[K, dsl.Change[VR]]) error {
	s, err := lookupRows[K, VR](ctx, p.store)
	if err != nil {
		return err
	}
	p.rows = s
	p.out.Init(ctx, s)
	return nil
}

func (p *resultProc[K, VR]) Close() error { return nil }

func (p *resultProc[K, VR]) Process(r topology.Record[K, VR]) error {
	old, had, err := p.rows.Get(r.Key)
	if err != nil {
		return fmt.Errorf("foreign-key join: read store %q: %w", p.store, err)
	}
	ch := dsl.Change[VR]{Old: old.Value, HasOld: had}
	if r.IsTombstone() {
		err = p.rows.Delete(r.Key)
	} else {
		ch.New, ch.HasNew = r.Value, true
		err = p.rows.Put(r.Key, state.Timestamped[VR]{Value: r.Value, Timestamp: r.Timestamp})
	}
	if err != nil {
		return fmt.Errorf("foreign-key join: store %q: %w", p.store, err)
	}
	return p.out.Update(topology.WithValue(r, ch))
}
