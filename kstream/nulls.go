package kstream

import (
	"reflect"

	"github.com/strata-go/strata/topology"
)

// keepNulls returns out, which an operation made from in, with a null key
// when in's key was null and out's is the zero value of its type, and with
// a null value when in's value was null and out's is the zero value of its
// type: a function that passes a null through, such as Kafka's map(noOp) on
// a tombstone, keeps it a null (see the package documentation). The common
// case, an input without nulls, costs two tests.
func keepNulls[K, V, K2, V2 any](in topology.Record[K, V], out topology.Record[K2, V2]) topology.Record[K2, V2] {
	if in.HasNullKey() && isZero(out.Key) {
		out = topology.NullKey(out)
	}
	if in.IsTombstone() && isZero(out.Value) {
		out = topology.Tombstone(out)
	}
	return out
}

// isZero reports whether v is the zero value of its type, as reflect does:
// a nil pointer, slice or map, an empty string, a struct of zero fields.
func isZero[T any](v T) bool { return reflect.ValueOf(&v).Elem().IsZero() }
