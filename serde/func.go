package serde

// Ptr returns a Serde for *T built on s: a nil pointer is a Kafka null in
// both directions, and any other pointer encodes what it points to with s.
// Ptr lets a topology tell a tombstone from a zero value, for example an
// empty string (Ptr(String())) or a zero count (Ptr(Int64())).
//
// A non-nil pointer to a value that s itself encodes as null, such as a
// pointer to a nil []byte under Ptr(Bytes()), also encodes as null, and so
// decodes to a nil pointer. Errors from s are returned unchanged.
func Ptr[T any](s Serde[T]) Serde[*T] {
	if s == nil {
		panic("serde: Ptr needs a non-nil Serde")
	}
	return ptrSerde[T]{s}
}

type ptrSerde[T any] struct{ s Serde[T] }

func (p ptrSerde[T]) Serialize(dst []byte, topic string, v *T) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return p.s.Serialize(dst, topic, *v)
}

func (p ptrSerde[T]) Deserialize(topic string, data []byte) (*T, error) {
	if data == nil {
		return nil, nil
	}
	v, err := p.s.Deserialize(topic, data)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Func returns a Serde made of a serialize and a deserialize function. They
// must keep the [Serde] contract: ser appends to dst without keeping it and
// returns nil exactly for values that mean null; de copies any bytes it
// keeps and should decode nil data to the zero value. Func panics if either
// function is nil.
func Func[T any](
	ser func(dst []byte, topic string, v T) ([]byte, error),
	de func(topic string, data []byte) (T, error),
) Serde[T] {
	if ser == nil || de == nil {
		panic("serde: Func needs non-nil serialize and deserialize functions")
	}
	return funcSerde[T]{ser, de}
}

type funcSerde[T any] struct {
	ser func(dst []byte, topic string, v T) ([]byte, error)
	de  func(topic string, data []byte) (T, error)
}

func (f funcSerde[T]) Serialize(dst []byte, topic string, v T) ([]byte, error) {
	return f.ser(dst, topic, v)
}

func (f funcSerde[T]) Deserialize(topic string, data []byte) (T, error) {
	return f.de(topic, data)
}
