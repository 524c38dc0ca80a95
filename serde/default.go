package serde

// Default returns the built-in Serde for T when T is string, []byte, int32,
// int64, float64 or bool. The DSL uses it where a stream's serde is not known
// (after a key- or value-changing operation), so common types need no
// explicit serdes. It uses a type switch, not reflection.
func Default[T any]() (Serde[T], bool) {
	var s any
	switch any(*new(T)).(type) {
	case string:
		s = String()
	case []byte:
		s = Bytes()
	case int32:
		s = Int32()
	case int64:
		s = Int64()
	case float64:
		s = Float64()
	case bool:
		s = Bool()
	default:
		return nil, false
	}
	return s.(Serde[T]), true
}
