package topology

import (
	"errors"
	"fmt"

	"github.com/strata-go/strata/internal/engine"
)

// ErrInvalidTopology is wrapped by every error Build returns. Test for it
// with errors.Is.
var ErrInvalidTopology = errors.New("invalid topology")

// ErrInvalidTimestamp is wrapped by a BadRecordError for a record whose
// event time is negative or could not be extracted.
var ErrInvalidTimestamp = errors.New("invalid timestamp")

// BadRecordError reports an input record that could not be decoded or whose
// timestamp is invalid, with its coordinates. Find it with errors.As.
type BadRecordError struct {
	Topic     string
	Partition int32
	Offset    int64
	// Part is "key", "value" or "timestamp".
	Part string
	Err  error
}

// Error describes the record and what was wrong with it.
func (e *BadRecordError) Error() string {
	return fmt.Sprintf("bad record at %s[%d]@%d: %s: %v", e.Topic, e.Partition, e.Offset, e.Part, e.Err)
}

// Unwrap returns the decoding or timestamp error.
func (e *BadRecordError) Unwrap() error { return e.Err }

// ProcessingError marks an error a Processor's Process returned for the
// record it was processing: its own, not one a node downstream of it
// returned through Forward (that one is the downstream node's). The
// runtime's Config.OnProcessingError (and the test driver's) applies to
// it; other errors (of sinks, serdes, the runtime) always stop processing.
// It is found inside a NodeError naming the processor, or, for a panic of
// any node while it processed the record, wraps a *PanicError naming the
// node.
type ProcessingError struct {
	Err error
}

// Error returns the processor's error's text.
func (e *ProcessingError) Error() string { return e.Err.Error() }

// Unwrap returns the processor's error.
func (e *ProcessingError) Unwrap() error { return e.Err }

// SerializationError reports an output record a sink could not serialize:
// as in Kafka Streams (KIP-399), the production-error policy applies to it
// (strata.Config.OnProductionError, the test driver's too), not the
// processing-error policy. A panic in a serializer, though, is the sink's
// processing error (a PanicError).
type SerializationError struct {
	// Topic is the output topic; Part is "key" or "value".
	Topic string
	Part  string
	Err   error
}

// Error describes what could not be serialized.
func (e *SerializationError) Error() string {
	return fmt.Sprintf("serialize %s for topic %q: %v", e.Part, e.Topic, e.Err)
}

// Unwrap returns the serializer's error.
func (e *SerializationError) Unwrap() error { return e.Err }

func init() {
	engine.IsProcessingError = func(err error) bool {
		var pe *ProcessingError
		return errors.As(err, &pe)
	}
	engine.IsSerializationError = func(err error) bool {
		var se *SerializationError
		return errors.As(err, &se)
	}
}

// NodeError reports an error returned by a node while processing, with the
// node's name. Find it with errors.As; it wraps the original error.
type NodeError struct {
	Node string
	Err  error
}

// Error names the node and its error.
func (e *NodeError) Error() string { return fmt.Sprintf("node %q: %v", e.Node, e.Err) }

// Unwrap returns the node's error.
func (e *NodeError) Unwrap() error { return e.Err }

// nodeError wraps err with the node's name, once: an error from a child
// already names the node that failed.
func nodeError(node string, err error) error {
	var ne *NodeError
	if errors.As(err, &ne) {
		return err
	}
	return &NodeError{Node: node, Err: err}
}
