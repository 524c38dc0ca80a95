package topology

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/strata-go/strata/serde"
)

// ErrNoSerde is wrapped by the error Build reports for a type that
// operations needed a serde for and none was given: one error per type,
// naming it and every operation that needed it. Test for it with errors.Is.
var ErrNoSerde = errors.New("no serde")

// builderSerdes are the serdes a Builder holds by type.
type builderSerdes struct {
	byType map[reflect.Type]any // serde.Serde[T] for each T
	// looked are the types whose serde an operation looked up, so that a
	// registration coming after that is reported.
	looked map[reflect.Type]bool
	// missing lists, per type without a serde, the operations that
	// needed one; order keeps the types in the order first needed.
	missing map[reflect.Type][]string
	order   []reflect.Type
	// late are the types registered after an operation looked them up.
	late map[reflect.Type]bool
}

// RegisterSerde makes s the builder's serde for values of type T, used
// wherever the DSL needs a serde for a T that it does not know: after
// kstream.Map, SelectKey, Process or a join, for a sink, a repartition
// topic, a store or an aggregate, and for a source or table given a nil
// serde. A serde given to an operation, and the serde a stream carries from
// its source, come first; the builder's serdes come before serde.Default's
// built-in ones. The type is inferred from s:
//
//	b := topology.NewBuilder()
//	topology.RegisterSerde(b, serde.JSON[Payment]())
//	topology.RegisterSerde(b, serde.Ptr(serde.String())) // for *string
//
// Register serdes right after NewBuilder, before the operations that need
// them: operations look serdes up as they are added, so a serde registered
// for a type an operation already looked up is a Build error, as are a nil
// serde and a second serde for the same type.
func RegisterSerde[T any](b *Builder, s serde.Serde[T]) {
	t := reflect.TypeFor[T]()
	r := &b.serdes
	switch {
	case b.built:
		b.Fail(fmt.Errorf("RegisterSerde[%v] after Build", t))
	case s == nil:
		b.Fail(fmt.Errorf("RegisterSerde[%v]: nil serde", t))
	case r.byType[t] != nil:
		b.Fail(fmt.Errorf("RegisterSerde[%v]: the builder has a serde for %v already", t, t))
	case r.looked[t]:
		if r.late == nil {
			r.late = map[reflect.Type]bool{}
		}
		r.late[t] = true
		b.Fail(fmt.Errorf("RegisterSerde[%v] after an operation needed a serde for %v: register serdes right after NewBuilder, before the operations that use them", t, t))
	default:
		if r.byType == nil {
			r.byType = map[reflect.Type]any{}
		}
		r.byType[t] = s
	}
}

// SerdeFor returns the builder's serde for T: the one registered with
// [RegisterSerde], else serde.Default's, else nil.
func SerdeFor[T any](b *Builder) serde.Serde[T] {
	t := reflect.TypeFor[T]()
	r := &b.serdes
	if r.looked == nil {
		r.looked = map[reflect.Type]bool{}
	}
	r.looked[t] = true
	if s, ok := r.byType[t]; ok {
		return s.(serde.Serde[T])
	}
	s, _ := serde.Default[T]()
	return s
}

// RequireSerde is [SerdeFor] for user, an operation or node that cannot do
// without a serde for T (user names it in errors, as `To "sink"`). When the
// builder has none, Build fails with one error for T, wrapping
// [ErrNoSerde] and naming every user, however many there are; RequireSerde
// then returns a stand-in that fails every call, so that the caller can go
// on adding its nodes (a topology that uses it never builds).
func RequireSerde[T any](b *Builder, user string) serde.Serde[T] {
	if s := SerdeFor[T](b); s != nil {
		return s
	}
	t := reflect.TypeFor[T]()
	r := &b.serdes
	if r.missing == nil {
		r.missing = map[reflect.Type][]string{}
	}
	if _, seen := r.missing[t]; !seen {
		r.order = append(r.order, t)
	}
	r.missing[t] = append(r.missing[t], user)
	return missingSerde[T]{}
}

// errors returns one error per type needed without a serde, except those
// registered too late, which RegisterSerde reported.
func (r *builderSerdes) errors() []error {
	var errs []error
	for _, t := range r.order {
		if r.late[t] {
			continue
		}
		errs = append(errs, fmt.Errorf("%w for %v, needed by %s: register one with topology.RegisterSerde (or pass one to the operation)",
			ErrNoSerde, t, strings.Join(r.missing[t], ", ")))
	}
	return errs
}

// missingSerde stands in for a serde the builder does not have. Build fails
// when one was handed out, so it never runs.
type missingSerde[T any] struct{}

func (missingSerde[T]) Serialize([]byte, string, T) ([]byte, error) {
	return nil, fmt.Errorf("%w for %v", ErrNoSerde, reflect.TypeFor[T]())
}

func (missingSerde[T]) Deserialize(string, []byte) (T, error) {
	var zero T
	return zero, fmt.Errorf("%w for %v", ErrNoSerde, reflect.TypeFor[T]())
}
