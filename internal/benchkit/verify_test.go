package benchkit

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/window"
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

func windowedRecord(t *testing.T, key string, start int64, n int64) *kgo.Record {
	k, err := window.TimeWindowedSerde(serde.String(), WindowSize).Serialize(nil, "out", window.Windowed[string]{Key: key, Window: window.Window{Start: time.UnixMilli(start)}})
	if err != nil {
		t.Fatal(err)
	}
	r := countRecord(t, "", n)
	r.Key = k
	return r
}

func TestCheckWindowedCounts(t *testing.T) {
	// 3 records over 2 keys, 1 ms apart from the start of a minute: key-00000
	// twice, key-00001 once, all in the first window.
	w0 := timedBase.UnixMilli()
	good := []*kgo.Record{
		windowedRecord(t, "key-00000", w0, 1), windowedRecord(t, "key-00001", w0, 1), windowedRecord(t, "key-00000", w0, 2),
	}
	if err := CheckWindowedCounts(good, 3, 2); err != nil {
		t.Errorf("exact counts rejected: %v", err)
	}
	for name, recs := range map[string][]*kgo.Record{
		"count short":  good[:2],
		"other window": {windowedRecord(t, "key-00000", w0+WindowSize.Milliseconds(), 2), good[1]},
		"extra window": append(good[:3:3], windowedRecord(t, "key-00001", w0+WindowSize.Milliseconds(), 1)),
	} {
		if err := CheckWindowedCounts(recs, 3, 2); !errors.Is(err, ErrIncomplete) {
			t.Errorf("%s: got %v, want ErrIncomplete", name, err)
		}
	}
}

func TestCheckJoined(t *testing.T) {
	v := []byte("llllllllllllllll+rrrrrrrrrrrrrrrr")
	res := func(key string) *kgo.Record { return &kgo.Record{Topic: "out", Key: []byte(key), Value: v} }
	// 6 records over 2 keys: pairs 0, 1, 2 with keys 0, 1, 0.
	if err := CheckJoined([]*kgo.Record{res("key-00000"), res("key-00001"), res("key-00000")}, 6, 2); err != nil {
		t.Errorf("every pair joined, rejected: %v", err)
	}
	for name, recs := range map[string][]*kgo.Record{
		"missing":   {res("key-00000"), res("key-00001")},
		"wrong key": {res("key-00000"), res("key-00001"), res("key-00001")},
		"unjoined":  {res("key-00000"), res("key-00001"), {Topic: "out", Key: []byte("key-00000"), Value: []byte("l")}},
	} {
		if err := CheckJoined(recs, 6, 2); !errors.Is(err, ErrIncomplete) {
			t.Errorf("%s: got %v, want ErrIncomplete", name, err)
		}
	}
}
