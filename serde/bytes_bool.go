package serde

// Bytes returns a Serde for raw bytes. A nil slice is a Kafka null and an
// empty slice is empty bytes, in both directions. Deserialize copies, since
// the input buffer may be reused.
func Bytes() Serde[[]byte] { return bytesSerde{} }

type bytesSerde struct{}

func (bytesSerde) Serialize(dst []byte, _ string, v []byte) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return nonNil(append(dst, v...)), nil
}

func (bytesSerde) Deserialize(_ string, data []byte) ([]byte, error) {
	if data == nil {
		return nil, nil
	}
	return append([]byte{}, data...), nil
}

// Bool returns a Serde for bool as one byte, 1 for true and 0 for false,
// the encoding of Kafka's BooleanSerializer. Other byte values are errors.
func Bool() Serde[bool] { return boolSerde{} }

type boolSerde struct{}

func (boolSerde) Serialize(dst []byte, _ string, v bool) ([]byte, error) {
	if v {
		return append(dst, 1), nil
	}
	return append(dst, 0), nil
}

func (boolSerde) Deserialize(_ string, data []byte) (bool, error) {
	switch {
	case data == nil:
		return false, nil
	case len(data) != 1:
		return false, lengthError("bool", 1, len(data))
	case data[0] == 0:
		return false, nil
	case data[0] == 1:
		return true, nil
	}
	return false, &ValueError{Type: "bool", Reason: "byte must be 0 or 1"}
}

// ValueError reports bytes of the right length that do not encode a value of
// the type.
type ValueError struct {
	Type   string // the Go type being decoded, such as "bool"
	Reason string // what is wrong with the bytes
}

// Error returns a message naming the type and the reason.
func (e *ValueError) Error() string { return "serde: invalid " + e.Type + ": " + e.Reason }
