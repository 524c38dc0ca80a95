package ktable

import (
	"time"

	"github.com/strata-go/strata/internal/dsl"
)

// closingAfter returns t carrying windows that close d after their end, the
// time UntilWindowCloses holds their results back (Kafka Streams'
// GraphGraceSearchUtil reads it from the windowed aggregation upstream).
func closingAfter[K, V any](t Table[K, V], d time.Duration) Table[K, V] {
	return Table[K, V](t.core().WithWindowClose(truncMillis(d)))
}

// carry returns to, made from t with t's keys, carrying t's windows if t
// carries any.
func carry[K, V, V2 any](t Table[K, V], to Table[K, V2]) Table[K, V2] {
	return Table[K, V2](dsl.CarryWindows(t.core(), to.core()))
}
