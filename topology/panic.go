package topology

import (
	"errors"
	"fmt"

	"github.com/strata-go/strata/internal/engine"
)

// ErrPanic is matched by every *PanicError: errors.Is(err, ErrPanic)
// reports that user code panicked.
var ErrPanic = errors.New("panic in user code")

// PanicError reports a panic in user code that a task recovered: in a
// processor or a DSL callback (a mapper, a predicate, an aggregator, a
// joiner), a serde, a partitioner or topic extractor, or a punctuator. Find
// it with errors.As, or test for it with errors.Is(err, ErrPanic); it
// unwraps to the panic's value when that is an error (a runtime.Error, for
// instance).
//
// A panic while a record is processed is the processing error of the node
// that panicked, for that record: it comes wrapped in a *ProcessingError,
// and the processing-error policy (the runtime's Config.OnProcessingError)
// applies to it, whichever node it is, a sink included. A panic in a
// punctuator, in a node a cache flush at commit forwards to, or in a
// processor's Init or Close has no record: it stops processing whatever the
// policy. A panic in a source's
// deserializer or timestamp extractor makes the record a bad record (a
// *BadRecordError wrapping the PanicError), to which the bad-record policy
// applies, as to an error of theirs.
type PanicError struct {
	// Node is the name of the node that panicked: the processor whose
	// code or callback panicked, the sink whose serde did, or the source
	// whose deserializer did.
	Node string
	// Kind is the node's kind: "processor", "sink" or "source".
	Kind string
	// Record locates the input record being processed; HasRecord is
	// false when there was none (a punctuation, a flush at commit) and
	// for a source, whose BadRecordError locates the record.
	Record    RecordMetadata
	HasRecord bool
	// Value is what panic was called with.
	Value any
	// Stack is the stack trace of the goroutine that panicked, taken
	// where it panicked.
	Stack []byte
}

// Error names the node and the record, as in
// `processor "KSTREAM-MAPVALUES-0000000002" panicked on orders[3]@1042:
// runtime error: integer divide by zero`.
func (e *PanicError) Error() string {
	kind := e.Kind
	if kind == "" {
		kind = "node"
	}
	if e.HasRecord {
		r := e.Record
		return fmt.Sprintf("%s %q panicked on %s[%d]@%d: %v", kind, e.Node, r.Topic, r.Partition, r.Offset, e.Value)
	}
	return fmt.Sprintf("%s %q panicked: %v", kind, e.Node, e.Value)
}

// Unwrap returns the panic's value if it is an error, else nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Is reports whether target is ErrPanic.
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

func init() {
	engine.NewPanicError = func(p *engine.Panic) error {
		e := &PanicError{Node: p.Node, Kind: p.Kind.String(), Value: p.Value, Stack: p.Stack}
		if !p.Processing {
			return e
		}
		if r := p.Record; r != nil {
			e.Record = RecordMetadata{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
			e.HasRecord = true
		}
		return &ProcessingError{Err: e}
	}
}
