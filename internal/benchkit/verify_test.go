package benchkit

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/serde"
)

func countRecord(t *testing.T, key string, n int64) *kgo.Record {
	v, err := serde.Int64().Serialize(nil, "out", n)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: "out", Key: []byte(key), Value: v}
}

func TestCheckCounts(t *testing.T) {
	// 5 records over 2 keys: key-00000 three times, key-00001 twice.
	good := []*kgo.Record{
		countRecord(t, "key-00000", 1), countRecord(t, "key-00001", 2), countRecord(t, "key-00000", 3),
	}
	if err := CheckCounts(good, 5, 2); err != nil {
		t.Errorf("exact counts rejected: %v", err)
	}
	for name, recs := range map[string][]*kgo.Record{
		"last count short": {countRecord(t, "key-00000", 3), countRecord(t, "key-00001", 1)},
		"key missing":      {countRecord(t, "key-00000", 3)},
		"extra key":        append(good[:3:3], countRecord(t, "key-00002", 1)),
		"stale last":       {countRecord(t, "key-00000", 3), countRecord(t, "key-00001", 2), countRecord(t, "key-00000", 2)},
	} {
		if err := CheckCounts(recs, 5, 2); !errors.Is(err, ErrIncomplete) {
			t.Errorf("%s: got %v, want ErrIncomplete", name, err)
		}
	}
}

func TestCheckMapped(t *testing.T) {
	mapped := &kgo.Record{Topic: "out", Value: []byte("VVVVVVVVVVVVVVVV")}
	if err := CheckMapped([]*kgo.Record{mapped, mapped}, 2); err != nil {
		t.Errorf("complete output rejected: %v", err)
	}
	if err := CheckMapped([]*kgo.Record{mapped}, 2); !errors.Is(err, ErrIncomplete) {
		t.Errorf("a missing record: got %v, want ErrIncomplete", err)
	}
	unmapped := &kgo.Record{Topic: "out", Value: []byte("vvvvvvvvvvvvvvvv")}
	if err := CheckMapped([]*kgo.Record{mapped, unmapped}, 2); !errors.Is(err, ErrIncomplete) {
		t.Errorf("an unmapped value: got %v, want ErrIncomplete", err)
	}
}
