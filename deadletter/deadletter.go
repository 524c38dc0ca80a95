package deadletter

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/retry"
)

// DefaultTopic is the dead-letter topic of an application whose
// configuration names none: "<applicationID>-dead-letter".
func DefaultTopic(applicationID string) string { return applicationID + "-dead-letter" }

// Header keys of a dead-letter record. The first five are Kafka Streams'
// (KIP-1034); the others are Strata's.
const (
	HeaderException = "__streams.errors.exception"
	HeaderMessage   = "__streams.errors.message"
	HeaderTopic     = "__streams.errors.topic"
	HeaderPartition = "__streams.errors.partition"
	HeaderOffset    = "__streams.errors.offset"

	// HeaderVersion is the record's format version, in decimal; a record
	// without it is of version 1.
	HeaderVersion = "strata.deadletter.version"
	// HeaderHandler names the outcome handler that gave the record up
	// (kstream's handlers); absent for records the bad-record, processing
	// and production policies write.
	HeaderHandler = retry.HeaderHandler
	// HeaderAttempts is how many times the handler was run on the record,
	// in decimal; absent when it was not run through retries.
	HeaderAttempts = retry.HeaderAttempts
)

// Version is the format version Encode writes and the newest Parse reads.
//
// Version 1 (Strata before the dead set): the KIP-1034 headers only, no
// version header. Version 2: HeaderVersion, and HeaderHandler and
// HeaderAttempts when the record comes from an outcome handler. The
// version changes only when a reader of the previous version would
// misread a record; a header an older reader can ignore is added without
// a new version.
const Version = 2

// Reasons, the values of HeaderException. An outcome handler that
// dead-letters a record gives its own reason, which is written as it is.
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
	// ReasonRetriesExhausted: an outcome handler asked to retry the
	// record after its retry policy's last attempt.
	ReasonRetriesExhausted = retry.ReasonExhausted
)

var (
	// ErrNotDeadLetter is returned by Parse for a record without the
	// headers of a dead-letter record.
	ErrNotDeadLetter = errors.New("deadletter: not a dead-letter record")
	// ErrUnsupportedVersion is returned by Parse for a record of a format
	// version newer than Version, written by a newer Strata: upgrade the
	// reader.
	ErrUnsupportedVersion = errors.New("deadletter: unsupported dead-letter format version")
)

// Record is a dead-letter record: the failed record as it was read, where
// it came from and why it failed.
type Record struct {
	// Topic, Partition and Offset locate the failed record in its input
	// (the source topic, not a retry topic).
	Topic     string
	Partition int32
	Offset    int64
	// Key, Value, Timestamp and Headers are the failed record's own (the
	// dead-letter headers removed). A nil Key or Value is a Kafka null.
	Key       []byte
	Value     []byte
	Timestamp time.Time
	Headers   []kgo.RecordHeader
	// Reason is the kind of failure (Reason*, or an outcome handler's
	// own), Message the error's text.
	Reason  string
	Message string
	// Handler is the outcome handler that gave the record up, "" for a
	// record of the bad-record, processing or production policies, and
	// for every record of version 1. Attempts is how many times the
	// handler ran on it (0 when unknown).
	Handler  string
	Attempts int
	// Version is the record's format version (Parse sets it; Encode
	// writes Version whatever it says).
	Version int
	// DeadLetterPartition and DeadLetterOffset locate the record in the
	// dead-letter topic (Parse sets them): its coordinates in the dead
	// set.
	DeadLetterPartition int32
	DeadLetterOffset    int64
	// Err is set by DeadSet.List on a record of the dead-letter topic
	// that Parse refused (ErrNotDeadLetter, ErrUnsupportedVersion): its
	// Key, Value, Timestamp and Headers are then the record's as they
	// are, its other fields zero but its coordinates in the dead set.
	Err error
}

// New returns the dead-letter record of r, which failed with err for
// reason, for topic: Encode of r's coordinates, key, value, timestamp and
// headers. The key, value and headers are r's own slices, not copies; the
// headers slice is new.
func New(topic string, partitions int, r *kgo.Record, reason string, err error) *kgo.Record {
	return Encode(topic, partitions, Record{
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Key:       r.Key,
		Value:     r.Value,
		Timestamp: r.Timestamp,
		Headers:   r.Headers,
		Reason:    reason,
		Message:   err.Error(),
	})
}

// Encode returns d as a record of the dead-letter topic topic, of
// partitions partitions, in the current format (Version): d's key, value,
// timestamp and headers (its slices, not copies; the headers slice is new)
// with the dead-letter headers after them. Its partition is d.Partition
// modulo partitions, so the records of one input partition stay in order.
// An outcome handler's dead-set records are made with Encode, with Handler
// and Attempts set.
func Encode(topic string, partitions int, d Record) *kgo.Record {
	h := make([]kgo.RecordHeader, 0, len(d.Headers)+8)
	h = append(h, d.Headers...)
	h = append(h,
		kgo.RecordHeader{Key: HeaderException, Value: []byte(d.Reason)},
		kgo.RecordHeader{Key: HeaderMessage, Value: []byte(d.Message)},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(d.Topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(d.Partition), 10)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, d.Offset, 10)},
		kgo.RecordHeader{Key: HeaderVersion, Value: strconv.AppendInt(nil, Version, 10)},
	)
	if d.Handler != "" {
		h = append(h, kgo.RecordHeader{Key: HeaderHandler, Value: []byte(d.Handler)})
	}
	if d.Attempts > 0 {
		h = append(h, kgo.RecordHeader{Key: HeaderAttempts, Value: strconv.AppendInt(nil, int64(d.Attempts), 10)})
	}
	p := int32(0)
	if partitions > 0 && d.Partition >= 0 {
		p = d.Partition % int32(partitions)
	}
	return &kgo.Record{
		Topic:     topic,
		Partition: p,
		Key:       d.Key,
		Value:     d.Value,
		Timestamp: d.Timestamp,
		Headers:   h,
	}
}

// Parse reads a dead-letter record of any version up to Version. It
// returns ErrNotDeadLetter, wrapped, for a record without the topic,
// partition and offset headers or with a malformed one, and
// ErrUnsupportedVersion, wrapped, for a newer version. The Record's slices
// are r's.
func Parse(r *kgo.Record) (Record, error) {
	out := Record{
		Key:                 r.Key,
		Value:               r.Value,
		Timestamp:           r.Timestamp,
		DeadLetterPartition: r.Partition,
		DeadLetterOffset:    r.Offset,
		Partition:           -1,
		Offset:              -1,
		Version:             1,
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
		case HeaderVersion:
			out.Version, err = strconv.Atoi(string(h.Value))
			if err == nil && out.Version < 2 {
				err = fmt.Errorf("version %d", out.Version)
			}
		case HeaderHandler:
			out.Handler = string(h.Value)
		case HeaderAttempts:
			out.Attempts, err = strconv.Atoi(string(h.Value))
			if err == nil && out.Attempts < 0 {
				err = fmt.Errorf("%d attempts", out.Attempts)
			}
		default:
			out.Headers = append(out.Headers, h)
		}
		if err != nil {
			return Record{}, fmt.Errorf("%w: header %s: %w", ErrNotDeadLetter, h.Key, err)
		}
	}
	if out.Version > Version {
		return Record{}, fmt.Errorf("%w: %s[%d]@%d is of version %d, this reader knows versions 1 to %d: upgrade it", ErrUnsupportedVersion, r.Topic, r.Partition, r.Offset, out.Version, Version)
	}
	if !haveTopic || out.Partition < 0 || out.Offset < 0 {
		return Record{}, fmt.Errorf("%w: %s[%d]@%d lacks the topic, partition or offset header", ErrNotDeadLetter, r.Topic, r.Partition, r.Offset)
	}
	return out, nil
}
