package kstream_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// kafkaPartition is the partition franz-go's default (sticky key)
// partitioner, which mirrors the Java producer's, picks for key among n: an
// independent check of Strata's murmur2 partitioning.
func kafkaPartition(key string, n int) int32 {
	return int32(kgo.StickyKeyPartitioner(nil).ForTopic("any").Partition(&kgo.Record{Key: []byte(key)}, n))
}

// build builds b's topology, failing the test on error.
func build(t *testing.T, b *topology.Builder) *topology.Topology {
	t.Helper()
	top, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return top
}

// buildErr builds b's topology and checks that it fails with an error that
// wraps topology.ErrInvalidTopology and contains each of wants.
func buildErr(t *testing.T, b *topology.Builder, wants ...string) {
	t.Helper()
	top, err := b.Build()
	if err == nil {
		t.Fatalf("Build succeeded (%v), want an error containing %q", top, wants)
	}
	if !errors.Is(err, topology.ErrInvalidTopology) {
		t.Errorf("Build error %v does not wrap ErrInvalidTopology", err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Build error does not contain %q:\n%v", w, err)
		}
	}
}

// at returns the time ms milliseconds after the Unix epoch.
func at(ms int64) time.Time { return time.UnixMilli(ms) }

// out is an output record reduced to what tests compare.
type out[K, V any] struct {
	Key       K
	Value     V
	TS        int64
	Headers   []topology.Header
	Partition int32
}

func (o out[K, V]) String() string {
	var hs []string
	for _, h := range o.Headers {
		hs = append(hs, h.Key+"="+string(h.Value))
	}
	return fmt.Sprintf("{%v=%v @%d p%d %v}", o.Key, o.Value, o.TS, o.Partition, hs)
}

// readAll reads every remaining record of topic.
func readAll[K, V any](t *testing.T, topic *testutil.OutputTopic[K, V]) []out[K, V] {
	t.Helper()
	var got []out[K, V]
	for _, r := range topic.ReadAll() {
		got = append(got, out[K, V]{r.Key, r.Value, r.Timestamp.UnixMilli(), r.Headers, r.Partition})
	}
	return got
}

// expect checks that topic holds exactly want, in order.
func expect[K, V any](t *testing.T, topic *testutil.OutputTopic[K, V], want ...out[K, V]) {
	t.Helper()
	got := readAll(t, topic)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("output:\n got %v\nwant %v", got, want)
	}
}

// hdr returns a one-header list.
func hdr(key, value string) []topology.Header {
	return []topology.Header{{Key: key, Value: []byte(value)}}
}

// expectKVs checks that topic holds exactly want, in order, by key and value.
func expectKVs[K, V any](t *testing.T, topic *testutil.OutputTopic[K, V], want ...testutil.KeyValue[K, V]) {
	t.Helper()
	got := topic.ReadKeyValues()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("output:\n got %v\nwant %v", got, want)
	}
}
