package serde_test

import (
	"fmt"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/strata-go/strata/serde"
)

func ExampleString() {
	s := serde.String()

	b, _ := s.Serialize(nil, "greetings", "héllo")
	fmt.Printf("% x\n", b)

	v, _ := s.Deserialize("greetings", b)
	fmt.Println(v)

	// The empty string is empty bytes, not a Kafka null; a null decodes
	// to "".
	empty, _ := s.Serialize(nil, "greetings", "")
	fmt.Println(empty != nil, len(empty))
	null, _ := s.Deserialize("greetings", nil)
	fmt.Printf("%q\n", null)
	// Output:
	// 68 c3 a9 6c 6c 6f
	// héllo
	// true 0
	// ""
}

func ExampleString_append() {
	// Serialize appends, so records can share one buffer.
	buf := make([]byte, 0, 64)
	s := serde.String()
	buf, _ = s.Serialize(buf, "t", "key")
	n := len(buf)
	buf, _ = s.Serialize(buf, "t", "value")
	fmt.Printf("%s|%s\n", buf[:n], buf[n:])
	// Output: key|value
}

func ExampleJSON() {
	type Order struct {
		ID  string `json:"id"`
		Qty int    `json:"qty"`
	}
	s := serde.JSON[*Order]()

	b, _ := s.Serialize(nil, "orders", &Order{ID: "o-1", Qty: 3})
	fmt.Println(string(b))

	o, _ := s.Deserialize("orders", []byte(`{"id":"o-2","qty":5}`))
	fmt.Printf("%+v\n", *o)

	// A nil pointer marshals to JSON null, so it is a tombstone.
	tomb, _ := s.Serialize(nil, "orders", nil)
	fmt.Println(tomb == nil)

	_, err := s.Deserialize("orders", []byte(`{"id":`))
	fmt.Println(err)
	// Output:
	// {"id":"o-1","qty":3}
	// {ID:o-2 Qty:5}
	// true
	// serde: json decode *serde_test.Order for topic "orders": unexpected end of JSON input
}

func ExamplePtr() {
	// Int64 cannot tell a count of zero from a deleted count; Ptr(Int64)
	// can: nil is a tombstone.
	s := serde.Ptr(serde.Int64())

	zero := int64(0)
	b, _ := s.Serialize(nil, "counts", &zero)
	fmt.Printf("% x\n", b)

	tomb, _ := s.Serialize(nil, "counts", nil)
	fmt.Println(tomb == nil)

	v, _ := s.Deserialize("counts", b)
	fmt.Println(*v)
	deleted, _ := s.Deserialize("counts", nil)
	fmt.Println(deleted == nil)
	// Output:
	// 00 00 00 00 00 00 00 00
	// true
	// 0
	// true
}

func ExampleProtobuf() {
	s := serde.Protobuf[*wrapperspb.StringValue]()

	b, _ := s.Serialize(nil, "names", wrapperspb.String("ada"))
	fmt.Printf("% x\n", b)

	m, _ := s.Deserialize("names", b)
	fmt.Println(m.GetValue())

	tomb, _ := s.Serialize(nil, "names", nil)
	fmt.Println(tomb == nil)
	// Output:
	// 0a 03 61 64 61
	// ada
	// true
}

func ExampleFunc() {
	// A serde for a named type, built from String.
	type Colour string
	str := serde.String()
	s := serde.Func(
		func(dst []byte, topic string, v Colour) ([]byte, error) {
			return str.Serialize(dst, topic, string(v))
		},
		func(topic string, data []byte) (Colour, error) {
			v, err := str.Deserialize(topic, data)
			return Colour(v), err
		},
	)
	b, _ := s.Serialize(nil, "colours", Colour("teal"))
	c, _ := s.Deserialize("colours", b)
	fmt.Printf("%s %T\n", c, c)
	// Output: teal serde_test.Colour
}

func ExampleDefault() {
	s, ok := serde.Default[int32]()
	b, _ := s.Serialize(nil, "t", 1)
	fmt.Printf("%t % x\n", ok, b)

	_, ok = serde.Default[int]()
	fmt.Println(ok)
	// Output:
	// true 00 00 00 01
	// false
}
