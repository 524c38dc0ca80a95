package join

import (
	"fmt"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// ForeignKey joins each row of left with the row of right whose key fk
// extracts from the left row's value, Kafka Streams' KTable#join(KTable,
// Function, ValueJoiner): a many-to-one join whose result has left's keys.
// The result row changes when the left row does (a new foreign key joins
// another right row) and when the right row does (every left row pointing
// at it is updated). Deleting the left row, or the right row, or moving the
// left row to a foreign key the right table has no row for, deletes the
// result row.
//
// It works as Kafka Streams' does, across the two tables' partitionings:
//
//   - each left update sends a subscription, keyed by foreign key, to the
//     internal topic "<applicationID>-<name>-subscription-registration-topic",
//     co-partitioned with right (a left row that changes its foreign key
//     also unsubscribes from the old one);
//   - right's side keeps the subscriptions in the store
//     "<name>-subscription-store", keyed by foreign and primary key, and
//     answers each subscription, and each right update to all the
//     subscribers of its key, on "<applicationID>-<name>-subscription-
//     response-topic", into the left row's partition;
//   - left's side joins each response with the left row's current value,
//     unless the response answers an older value of the row (responses
//     carry a 128-bit hash of the left value they answer), so that results
//     of a foreign key the row has left are discarded.
//
// The result is materialized, in the store given by [Named], else
// "KTABLE-FK-JOIN-OUTPUT-STATE-STORE-<n>", which needs a serde for VR:
// [WithResultSerde], else the builder's (topology.RegisterSerde). An update forwards the result's
// old value from it. A foreign key that fk returns and right's key serde
// encodes as null (a nil pointer under serde.Ptr) joins nothing: the update
// is dropped, counted and logged, as in Kafka Streams. Kafka's record
// formats on the two topics are not reproduced (docs/deviations.md).
//
// Options: [Named] (the nodes, topics and stores, and the result's store),
// [WithStoreOptions] (the stores the join adds), [WithKeySerde] (left's
// keys), [WithValueSerdes] and [WithResultSerde] where the tables' serdes
// are unknown.
func ForeignKey[K, V1, KO, V2, VR any](left ktable.Table[K, V1], right ktable.Table[KO, V2], fk func(value V1) KO, joiner func(left V1, right V2) VR, opts ...Option) ktable.Table[K, VR] {
	var j func(V1, V2, bool) VR
	if joiner != nil {
		j = func(l V1, r V2, _ bool) VR { return joiner(l, r) }
	}
	return foreignKey(left, right, "join.ForeignKey", fk, j, false, opts)
}

// ForeignKeyLeft is [ForeignKey] as a left join, KTable#leftJoin(KTable,
// Function, ValueJoiner): every left row has a result, the joiner getting a
// nil right value while the right table has no row for its foreign key,
// or the foreign key is null.
func ForeignKeyLeft[K, V1, KO, V2, VR any](left ktable.Table[K, V1], right ktable.Table[KO, V2], fk func(value V1) KO, joiner func(left V1, right *V2) VR, opts ...Option) ktable.Table[K, VR] {
	var j func(V1, V2, bool) VR
	if joiner != nil {
		j = func(l V1, r V2, hasR bool) VR {
			if !hasR {
				return joiner(l, nil)
			}
			return joiner(l, &r)
		}
	}
	return foreignKey(left, right, "join.ForeignKeyLeft", fk, j, true, opts)
}

// fkSerdes are the serdes a foreign-key join writes with.
type fkSerdes[K, V1, KO, V2, VR any] struct {
	key     serde.Serde[K]
	left    serde.Serde[V1]
	foreign serde.Serde[KO]
	right   serde.Serde[V2]
	result  serde.Serde[VR]
}

func foreignKey[K, V1, KO, V2, VR any](left ktable.Table[K, V1], right ktable.Table[KO, V2], op string, fk func(V1) KO, joiner func(l V1, r V2, hasR bool) VR, leftJoin bool, opts []Option) ktable.Table[K, VR] {
	lc, rc := dsl.Table[K, V1](left), dsl.Table[KO, V2](right)
	b := lc.Builder()
	if b == nil || rc.Builder() == nil {
		panic(op + ": a zero Table; tables come from ktable.From and from operations on others")
	}
	if b != rc.Builder() {
		b.Fail(fmt.Errorf("%s: the tables belong to different builders", op))
	}
	o := collect(b, op, opts, optName|optStore|optSerdes|optResultSerde)
	name := o.NameOr(b, "KTABLE-FK-JOIN-")
	if fk == nil {
		b.Fail(fmt.Errorf("%s %q: nil foreign key extractor", op, name))
	}
	if joiner == nil {
		b.Fail(fmt.Errorf("%s %q: nil joiner", op, name))
	}
	sd := fkSerdes[K, V1, KO, V2, VR]{
		key:     dsl.SerdeOr(b, op, "key", o.KeySerde, lc.KeySerde()),
		left:    dsl.SerdeOr(b, op, "left value", o.LeftSerde, lc.ValueSerde()),
		foreign: dsl.SerdeOr[KO](b, op, "foreign key", nil, rc.KeySerde()),
		right:   dsl.SerdeOr(b, op, "right value", o.RightSerde, rc.ValueSerde()),
		result:  dsl.SerdeOr[VR](b, op, "result", o.ResultSerde, nil),
	}
	storeName := o.Name
	if storeName == "" {
		storeName = b.NewName("KTABLE-FK-JOIN-OUTPUT-STATE-STORE-")
	}
	lr := rowsOf(b, op, name, "left", lc, sd.key, sd.left, o)
	rr := rowsOf(b, op, name, "right", rc, sd.foreign, sd.right, o)

	subTopic := name + "-subscription-registration-topic"
	subStore := name + "-subscription-store"
	respTopic := name + "-subscription-response-topic"
	subs := fkSubscriptionSerde[K]{pk: sd.key}
	resps := fkResponseSerde[V2]{value: sd.right}

	send := name + "-subscription-registration-processor"
	topology.AddProcessor(b, send, func() topology.Processor[K, dsl.Change[V1], KO, fkSubscription[K]] {
		return &subscribeProc[K, V1, KO]{fk: fk, foreign: sd.foreign, left: sd.left, topic: subTopic, leftJoin: leftJoin, hash: newFKHasher()}
	}, lr.node)
	topology.AddInternalSink(b, name+"-subscription-registration-sink", topology.Sink[KO, fkSubscription[K]]{Topic: subTopic, KeySerde: sd.foreign, ValueSerde: subs}, 0, send)
	subSrc := name + "-subscription-registration-source"
	topology.AddInternalSource(b, subSrc, topology.Source[KO, fkSubscription[K]]{Topics: []string{subTopic}, KeySerde: sd.foreign, ValueSerde: subs})

	state.AddKeyValueStore(b, subStore, serde.Bytes(), serde.Bytes(), o.StoreOpts...)
	receive := name + "-subscription-receive"
	topology.AddProcessor(b, receive, func() topology.Processor[KO, fkSubscription[K], K, fkResponse[V2]] {
		return &receiveProc[K, KO, V2]{subStore: subStore, rightStore: rr.store, foreign: sd.foreign, key: sd.key, subs: subs, topic: subTopic}
	}, subSrc)
	b.ConnectStores(receive, subStore, rr.store)
	foreign := name + "-foreign-join-subscription"
	topology.AddProcessor(b, foreign, func() topology.Processor[KO, dsl.Change[V2], K, fkResponse[V2]] {
		return &foreignProc[K, KO, V2]{subStore: subStore, foreign: sd.foreign, subs: subs, topic: subTopic}
	}, rr.node)
	b.ConnectStores(foreign, subStore)
	b.Copartition(receive, foreign)

	topology.AddInternalSink(b, name+"-subscription-response-sink", topology.Sink[K, fkResponse[V2]]{
		Topic: respTopic, KeySerde: sd.key, ValueSerde: resps,
		// Back to the left row's partition, which the subscription
		// named, as Kafka Streams routes responses.
		Partitioner: func(_ string, _ K, r fkResponse[V2], _ int) (int32, bool) { return r.partition, true },
	}, 0, receive, foreign)
	respSrc := name + "-subscription-response-source"
	topology.AddInternalSource(b, respSrc, topology.Source[K, fkResponse[V2]]{Topics: []string{respTopic}, KeySerde: sd.key, ValueSerde: resps})
	resolve := name + "-subscription-response-resolver"
	topology.AddProcessor(b, resolve, func() topology.Processor[K, fkResponse[V2], K, VR] {
		return &resolveProc[K, V1, V2, VR]{leftStore: lr.store, left: sd.left, topic: subTopic, joiner: joiner, leftJoin: leftJoin, hash: newFKHasher()}
	}, respSrc)
	b.ConnectStores(resolve, lr.store)
	b.Copartition(resolve, send)

	result := name + "-result"
	resultOpts := append([]state.Option{state.Caching(true)}, o.StoreOpts...)
	state.AddKeyValueStore(b, storeName, sd.key, state.TimestampedSerde(sd.result), resultOpts...)
	topology.AddProcessor(b, result, func() topology.Processor[K, VR, K, dsl.Change[VR]] {
		return &resultProc[K, VR]{store: storeName}
	}, resolve)
	b.ConnectStores(result, storeName)
	return ktable.Table[K, VR](dsl.NewTable(dsl.NewStream[K, dsl.Change[VR]](b, result, sd.key, nil, false), sd.key, sd.result, storeName))
}
