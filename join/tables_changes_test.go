package join

// Tests that watch the Change records a table-table join forwards, old
// values included, as Kafka's KTableKTable*JoinTest do with a
// MockApiProcessor below the join.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

type tableChangeLog struct{ recs []string }

func (l *tableChangeLog) take() []string { r := l.recs; l.recs = nil; return r }

type watchProc[K, V any] struct {
	mergeProc[K, dsl.Change[V]]
	log *tableChangeLog
}

func (p *watchProc[K, V]) Process(r topology.Record[K, dsl.Change[V]]) error {
	s := func(v V, ok bool) string {
		if !ok {
			return "null"
		}
		return fmt.Sprint(v)
	}
	p.log.recs = append(p.log.recs, fmt.Sprintf("%v:(%s<-%s)@%d", r.Key, s(r.Value.New, r.Value.HasNew), s(r.Value.Old, r.Value.HasOld), r.Timestamp.UnixMilli()))
	return nil
}

// watchChanges records the changes t forwards.
func watchChanges[K, V any](t ktable.Table[K, V]) *tableChangeLog {
	l := &tableChangeLog{}
	c := dsl.Table[K, V](t)
	topology.AddProcessor(c.Builder(), c.Builder().NewName("TEST-WATCH-"), func() topology.Processor[K, dsl.Change[V], K, dsl.Change[V]] {
		return &watchProc[K, V]{log: l}
	}, c.Node())
	return l
}

// TestTablesSendingOldValues mirrors testSendingOldValues of
// KTableKTableInnerJoinTest, KTableKTableLeftJoinTest and
// KTableKTableOuterJoinTest: seven phases of input, the same for the three
// joins, and the changes each phase causes.
func TestTablesSendingOldValues(t *testing.T) {
	nullStr := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	tests := []struct {
		name string
		join func(l, r ktable.Table[int32, string]) ktable.Table[int32, string]
		want [7][]string
	}{
		{"KTableKTableInnerJoinTest", func(l, r ktable.Table[int32, string]) ktable.Table[int32, string] {
			return Tables(l, r, func(_ int32, a, b string) string { return a + "+" + b })
		}, [7][]string{
			nil,
			{"0:(X0+Y0<-null)@5", "1:(X1+Y1<-null)@10"},
			{"0:(XX0+Y0<-X0+Y0)@7", "1:(XX1+Y1<-X1+Y1)@10"},
			{"0:(XX0+YY0<-XX0+Y0)@7", "1:(XX1+YY1<-XX1+Y1)@7", "2:(XX2+YY2<-null)@10", "3:(XX3+YY3<-null)@15"},
			{"0:(XXX0+YY0<-XX0+YY0)@6", "1:(XXX1+YY1<-XX1+YY1)@6", "2:(XXX2+YY2<-XX2+YY2)@10", "3:(XXX3+YY3<-XX3+YY3)@15"},
			{"0:(null<-XXX0+YY0)@6", "1:(null<-XXX1+YY1)@7"},
			{"2:(XXXX2+YY2<-XXX2+YY2)@13", "3:(XXXX3+YY3<-XXX3+YY3)@15"},
		}},
		{"KTableKTableLeftJoinTest", func(l, r ktable.Table[int32, string]) ktable.Table[int32, string] {
			return TablesLeft(l, r, func(_ int32, a string, b *string) string { return a + "+" + nullStr(b) })
		}, [7][]string{
			{"0:(X0+null<-null)@5", "1:(X1+null<-null)@6"},
			{"0:(X0+Y0<-X0+null)@5", "1:(X1+Y1<-X1+null)@10"},
			{"0:(XX0+Y0<-X0+Y0)@7", "1:(XX1+Y1<-X1+Y1)@10", "2:(XX2+null<-null)@7", "3:(XX3+null<-null)@7"},
			{"0:(XX0+YY0<-XX0+Y0)@7", "1:(XX1+YY1<-XX1+Y1)@7", "2:(XX2+YY2<-XX2+null)@10", "3:(XX3+YY3<-XX3+null)@15"},
			{"0:(XXX0+YY0<-XX0+YY0)@6", "1:(XXX1+YY1<-XX1+YY1)@6", "2:(XXX2+YY2<-XX2+YY2)@10", "3:(XXX3+YY3<-XX3+YY3)@15"},
			{"0:(XXX0+null<-XXX0+YY0)@6", "1:(XXX1+null<-XXX1+YY1)@7"},
			{"0:(XXXX0+null<-XXX0+null)@13", "1:(XXXX1+null<-XXX1+null)@13", "2:(XXXX2+YY2<-XXX2+YY2)@13", "3:(XXXX3+YY3<-XXX3+YY3)@15"},
		}},
		{"KTableKTableOuterJoinTest", func(l, r ktable.Table[int32, string]) ktable.Table[int32, string] {
			return TablesOuter(l, r, func(_ int32, a, b *string) string { return nullStr(a) + "+" + nullStr(b) })
		}, [7][]string{
			{"0:(X0+null<-null)@5", "1:(X1+null<-null)@6"},
			{"0:(X0+Y0<-X0+null)@5", "1:(X1+Y1<-X1+null)@10"},
			{"0:(XX0+Y0<-X0+Y0)@7", "1:(XX1+Y1<-X1+Y1)@10", "2:(XX2+null<-null)@7", "3:(XX3+null<-null)@7"},
			{"0:(XX0+YY0<-XX0+Y0)@7", "1:(XX1+YY1<-XX1+Y1)@7", "2:(XX2+YY2<-XX2+null)@10", "3:(XX3+YY3<-XX3+null)@15"},
			{"0:(XXX0+YY0<-XX0+YY0)@6", "1:(XXX1+YY1<-XX1+YY1)@6", "2:(XXX2+YY2<-XX2+YY2)@10", "3:(XXX3+YY3<-XX3+YY3)@15"},
			{"0:(XXX0+null<-XXX0+YY0)@6", "1:(XXX1+null<-XXX1+YY1)@7"},
			{"0:(XXXX0+null<-XXX0+null)@13", "1:(XXXX1+null<-XXX1+null)@13", "2:(XXXX2+YY2<-XXX2+YY2)@13", "3:(XXXX3+YY3<-XXX3+YY3)@15"},
		}},
	}
	// The last phase deletes every left row.
	last := map[string][]string{
		"KTableKTableInnerJoinTest": {"2:(null<-XXXX2+YY2)@10", "3:(null<-XXXX3+YY3)@20"},
		"KTableKTableLeftJoinTest":  {"0:(null<-XXXX0+null)@0", "1:(null<-XXXX1+null)@42", "2:(null<-XXXX2+YY2)@10", "3:(null<-XXXX3+YY3)@20"},
		"KTableKTableOuterJoinTest": {"0:(null<-XXXX0+null)@0", "1:(null<-XXXX1+null)@42", "2:(null+YY2<-XXXX2+YY2)@10", "3:(null+YY3<-XXXX3+YY3)@20"},
	}
	for _, tc := range tests {
		t.Run(tc.name+".testSendingOldValue", func(t *testing.T) {
			b := topology.NewBuilder()
			t1 := ktable.From(b, "topic1", serde.Int32(), serde.String())
			t2 := ktable.From(b, "topic2", serde.Int32(), serde.String())
			changes := watchChanges(tc.join(t1, t2))
			top, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			d := testutil.NewDriver(t, top, testutil.Config{})
			in1 := testutil.NewInputTopic(d, "topic1", serde.Int32(), serde.String())
			in2 := testutil.NewInputTopic(d, "topic2", serde.Int32(), serde.String())
			pipe := func(in *testutil.InputTopic[int32, string], k int32, v string, ts int64) {
				r := topology.Record[int32, string]{Key: k, Value: v, Timestamp: time.UnixMilli(ts)}
				if v == "null" {
					r = topology.Tombstone(r)
				}
				in.PipeRecords(r)
			}
			check := func(phase int, want []string) {
				t.Helper()
				if got := changes.take(); !slices.Equal(got, want) {
					t.Fatalf("phase %d:\n got %q\nwant %q", phase, got, want)
				}
			}
			keys := []int32{0, 1, 2, 3}
			for i := range 2 {
				pipe(in1, keys[i], fmt.Sprint("X", i), 5+int64(i))
			}
			// A null key is dropped before the join, as Kafka's join drops it.
			if err := in1.PipeRaw(nil, []byte("SomeVal"), time.UnixMilli(42)); err != nil {
				t.Fatal(err)
			}
			check(0, tc.want[0])
			for i := range 2 {
				pipe(in2, keys[i], fmt.Sprint("Y", i), 10*int64(i))
			}
			check(1, tc.want[1])
			for _, k := range keys {
				pipe(in1, k, fmt.Sprint("XX", k), 7)
			}
			check(2, tc.want[2])
			for _, k := range keys {
				pipe(in2, k, fmt.Sprint("YY", k), int64(k)*5)
			}
			check(3, tc.want[3])
			for _, k := range keys {
				pipe(in1, k, fmt.Sprint("XXX", k), 6)
			}
			check(4, tc.want[4])
			pipe(in2, 0, "null", 5)
			pipe(in2, 1, "null", 7)
			check(5, tc.want[5])
			for _, k := range keys {
				pipe(in1, k, fmt.Sprint("XXXX", k), 13)
			}
			check(6, tc.want[6])
			pipe(in1, 0, "null", 0)
			pipe(in1, 1, "null", 42)
			pipe(in1, 2, "null", 5)
			pipe(in1, 3, "null", 20)
			check(7, last[tc.name])
			if n := d.DroppedRecords(); n != 1 {
				t.Fatalf("%d records dropped, want the null key", n)
			}
		})
	}
}
