package serde_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/strata-go/strata/serde"
)

// Serialize benchmarks append into one reused buffer, as the engine does
// with its output slab; String then allocates nothing. Deserialize results go
// to a package variable so the compiler cannot drop them.

var (
	sinkString string
	sinkInt64  int64
	sinkOrder  *order
	sinkTime   *timestamppb.Timestamp
)

func BenchmarkString(b *testing.B) {
	s := serde.String()
	v := "customer-000123456789"
	b.Run("Serialize", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 64)
		for b.Loop() {
			out, err := s.Serialize(buf[:0], topic, v)
			if err != nil {
				b.Fatal(err)
			}
			buf = out
		}
	})
	b.Run("Deserialize", func(b *testing.B) {
		b.ReportAllocs()
		data := []byte(v)
		for b.Loop() {
			v, err := s.Deserialize(topic, data)
			if err != nil {
				b.Fatal(err)
			}
			sinkString = v
		}
	})
}

func BenchmarkInt64(b *testing.B) {
	s := serde.Int64()
	b.Run("Serialize", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 8)
		for b.Loop() {
			out, err := s.Serialize(buf[:0], topic, 1234567)
			if err != nil {
				b.Fatal(err)
			}
			buf = out
		}
	})
	b.Run("Deserialize", func(b *testing.B) {
		b.ReportAllocs()
		data := []byte{0, 0, 0, 0, 0, 0x12, 0xd6, 0x87}
		for b.Loop() {
			v, err := s.Deserialize(topic, data)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt64 = v
		}
	})
}

var benchOrder = &order{
	ID: "o-000123", Qty: 3, Price: 19.99,
	Tags:  []string{"express", "gift"},
	Attrs: map[string]string{"channel": "web"},
}

func BenchmarkJSON(b *testing.B) {
	s := serde.JSON[*order]()
	data, err := s.Serialize(nil, topic, benchOrder)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Serialize", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		buf := make([]byte, 0, 256)
		for b.Loop() {
			out, err := s.Serialize(buf[:0], topic, benchOrder)
			if err != nil {
				b.Fatal(err)
			}
			buf = out
		}
	})
	b.Run("Deserialize", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			v, err := s.Deserialize(topic, data)
			if err != nil {
				b.Fatal(err)
			}
			sinkOrder = v
		}
	})
}

func BenchmarkProtobuf(b *testing.B) {
	s := serde.Protobuf[*timestamppb.Timestamp]()
	m := &timestamppb.Timestamp{Seconds: 1_700_000_000, Nanos: 123_456_789}
	data, err := s.Serialize(nil, topic, m)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Serialize", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 64)
		for b.Loop() {
			out, err := s.Serialize(buf[:0], topic, m)
			if err != nil {
				b.Fatal(err)
			}
			buf = out
		}
	})
	b.Run("Deserialize", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := s.Deserialize(topic, data)
			if err != nil {
				b.Fatal(err)
			}
			sinkTime = v
		}
	})
}
