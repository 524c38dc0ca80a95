// Package deadletter defines Strata's dead-letter records and reads and
// replays them.
//
// With the policy topology.BadRecordDeadLetter, an input record the
// application cannot handle is written, as it was read, to the
// application's dead-letter topic (strata.Config.DeadLetterTopic, default
// "<ApplicationID>-dead-letter"), with headers saying where it came from
// and why it failed, and the application goes on. Three policies can say
// so, one per kind of failure ([ReasonDeserialization],
// [ReasonProcessing], [ReasonProduction]): strata.Config.OnBadRecord for a
// record whose key or value cannot be deserialized (or whose timestamp is
// invalid), which is then not processed; Config.OnProcessingError for a
// record a processor fails or panics on; and Config.OnProductionError for
// a record whose output cannot be produced (too large for the brokers, for
// instance). Under exactly-once the dead-letter record is part of the
// transaction that commits the input offset past it, so a bad record lands
// in the topic exactly once.
//
// The headers are those of Kafka Streams' dead-letter queue (KIP-1034), so
// tools written for it read Strata's too:
//
//	__streams.errors.exception  the kind of failure (Reason*)
//	__streams.errors.message    the error's text
//	__streams.errors.topic      the record's topic
//	__streams.errors.partition  its partition, in decimal
//	__streams.errors.offset     its offset, in decimal
//
// The record's own key, value, timestamp and headers are kept. Read lists
// a dead-letter topic's records and Replay writes them back to the topics
// they came from, for instance once a consumer's deserializer is fixed.
package deadletter

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultTopic is the dead-letter topic of an application whose
// configuration names none: "<applicationID>-dead-letter".
func DefaultTopic(applicationID string) string { return applicationID + "-dead-letter" }

// Header keys of a dead-letter record.
const (
	HeaderException = "__streams.errors.exception"
	HeaderMessage   = "__streams.errors.message"
	HeaderTopic     = "__streams.errors.topic"
	HeaderPartition = "__streams.errors.partition"
	HeaderOffset    = "__streams.errors.offset"
)

// Reasons, the values of HeaderException.
const (
	// ReasonDeserialization: the key or value could not be deserialized,
	// or the timestamp was invalid.
	ReasonDeserialization = "deserialization"
	// ReasonProcessing: a processor failed the record (a
	// topology.ProcessingError, under the policy
	// Config.OnProcessingError).
	ReasonProcessing = "processing"
	// ReasonProduction: an output record the record's processing sent
	// could not be produced, with an error that retrying cannot cure
	// (the record is too large, for instance; the production-error
	// policy, strata.Config.OnProductionError).
	ReasonProduction = "production"
)

// ErrNotDeadLetter is returned by Parse for a record without the headers of
// a dead-letter record.
var ErrNotDeadLetter = errors.New("deadletter: not a dead-letter record")

// Record is a dead-letter record: the failed record as it was read, where
// it came from and why it failed.
type Record struct {
	// Topic, Partition and Offset locate the failed record in its input.
	Topic     string
	Partition int32
	Offset    int64
	// Key, Value, Timestamp and Headers are the failed record's own (the
	// dead-letter headers removed).
	Key       []byte
	Value     []byte
	Timestamp time.Time
	Headers   []kgo.RecordHeader
	// Reason is the kind of failure (Reason*), Message the error's text.
	Reason  string
	Message string
	// DeadLetterOffset is the record's offset in the dead-letter topic.
	DeadLetterOffset int64
}

// New returns the dead-letter record of r, which failed with err for
// reason, for topic. The key, value and headers are r's own slices, not
// copies; the headers slice is new. Its partition is r's modulo
// partitions, so records of one input partition stay in order.
func New(topic string, partitions int, r *kgo.Record, reason string, err error) *kgo.Record {
	h := make([]kgo.RecordHeader, 0, len(r.Headers)+5)
	h = append(h, r.Headers...)
	h = append(h,
		kgo.RecordHeader{Key: HeaderException, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderMessage, Value: []byte(err.Error())},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
	)
	p := int32(0)
	if partitions > 0 && r.Partition >= 0 {
		p = r.Partition % int32(partitions)
	}
	return &kgo.Record{
		Topic:     topic,
		Partition: p,
		Key:       r.Key,
		Value:     r.Value,
		Timestamp: r.Timestamp,
		Headers:   h,
	}
}

// Parse reads a dead-letter record. It returns ErrNotDeadLetter, wrapped,
// for a record without the topic, partition and offset headers.
func Parse(r *kgo.Record) (Record, error) {
	out := Record{
		Key:              r.Key,
		Value:            r.Value,
		Timestamp:        r.Timestamp,
		DeadLetterOffset: r.Offset,
		Partition:        -1,
		Offset:           -1,
	}
	var haveTopic bool
	for _, h := range r.Headers {
		var err error
		switch h.Key {
		case HeaderException:
			out.Reason = string(h.Value)
		case HeaderMessage:
			out.Message = string(h.Value)
		case HeaderTopic:
			out.Topic, haveTopic = string(h.Value), true
		case HeaderPartition:
			var p int64
			p, err = strconv.ParseInt(string(h.Value), 10, 32)
			out.Partition = int32(p)
		case HeaderOffset:
			out.Offset, err = strconv.ParseInt(string(h.Value), 10, 64)
		default:
			out.Headers = append(out.Headers, h)
		}
		if err != nil {
			return Record{}, fmt.Errorf("%w: header %s: %w", ErrNotDeadLetter, h.Key, err)
		}
	}
	if !haveTopic || out.Partition < 0 || out.Offset < 0 {
		return Record{}, fmt.Errorf("%w: %s[%d]@%d lacks the topic, partition or offset header", ErrNotDeadLetter, r.Topic, r.Partition, r.Offset)
	}
	return out, nil
}
