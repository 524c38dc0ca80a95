package serde_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/strata-go/strata/serde"
)

func TestPtrNilSerdePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Ptr(nil) did not panic")
		}
	}()
	serde.Ptr[int64](nil)
}

func TestPtrPassesErrors(t *testing.T) {
	errBoom := errors.New("boom")
	inner := serde.Func(
		func(dst []byte, _ string, v int) ([]byte, error) { return nil, errBoom },
		func(string, []byte) (int, error) { return 0, errBoom },
	)
	s := serde.Ptr(inner)
	v := 1
	if _, err := s.Serialize(nil, topic, &v); !errors.Is(err, errBoom) {
		t.Fatalf("Serialize error = %v, want %v", err, errBoom)
	}
	p, err := s.Deserialize(topic, []byte{1})
	if !errors.Is(err, errBoom) || p != nil {
		t.Fatalf("Deserialize = %v, %v; want nil, %v", p, err, errBoom)
	}
	// A null never reaches the inner serde.
	if b, err := s.Serialize(nil, topic, nil); b != nil || err != nil {
		t.Fatalf("Serialize(nil) = %v, %v; want nil, nil", b, err)
	}
	if p, err := s.Deserialize(topic, nil); p != nil || err != nil {
		t.Fatalf("Deserialize(nil) = %v, %v; want nil, nil", p, err)
	}
}

// upper is a Serde made with Func: it stores strings upper-cased, and keeps
// the null rules by mapping "" to empty bytes.
func upper() serde.Serde[string] {
	return serde.Func(
		func(dst []byte, _ string, v string) ([]byte, error) {
			out := append(dst, strings.ToUpper(v)...)
			if out == nil {
				out = []byte{}
			}
			return out, nil
		},
		func(_ string, data []byte) (string, error) {
			if bytes.IndexByte(data, 0) >= 0 {
				return "", errors.New("NUL in string")
			}
			return string(data), nil
		},
	)
}

func TestFunc(t *testing.T) {
	s := upper()
	var gotTopic string
	spy := serde.Func(
		func(dst []byte, topic string, v string) ([]byte, error) {
			gotTopic = topic
			return s.Serialize(dst, topic, v)
		},
		func(topic string, data []byte) (string, error) {
			gotTopic = topic
			return s.Deserialize(topic, data)
		},
	)

	b, err := spy.Serialize([]byte("k="), "t1", "abc")
	if err != nil || string(b) != "k=ABC" || gotTopic != "t1" {
		t.Fatalf("Serialize = %q, %v, topic %q; want \"k=ABC\", nil, \"t1\"", b, err, gotTopic)
	}
	v, err := spy.Deserialize("t2", []byte("XY"))
	if err != nil || v != "XY" || gotTopic != "t2" {
		t.Fatalf("Deserialize = %q, %v, topic %q; want \"XY\", nil, \"t2\"", v, err, gotTopic)
	}
	if _, err := spy.Deserialize(topic, []byte{'a', 0}); err == nil {
		t.Fatal("Deserialize did not return the function's error")
	}
	if b, err := spy.Serialize(nil, topic, ""); err != nil || b == nil || len(b) != 0 {
		t.Fatalf("Serialize(\"\") = %#v, %v; want empty, non-nil", b, err)
	}
}

func TestFuncNilPanics(t *testing.T) {
	ser := func(dst []byte, _ string, v string) ([]byte, error) { return append(dst, v...), nil }
	de := func(_ string, data []byte) (string, error) { return string(data), nil }
	for name, construct := range map[string]func(){
		"nil ser": func() { serde.Func(nil, de) },
		"nil de":  func() { serde.Func(ser, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Func did not panic")
				}
			}()
			construct()
		})
	}
}
