package topology

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
)

// deadSetRecord is the dead-set record of orig, the handler's input as it
// got it first (its key, value, timestamp and headers; its Topic, Partition
// and Offset the original coordinates), for the dead-letter topic topic of
// partitions partitions: the dead-set format of package deadletter
// (deadletter.Encode), with reason and message, the handler's name and the
// number of attempts made. Every dead-set record of a handler is made here.
func deadSetRecord(topic string, partitions int, orig *kgo.Record, handler, reason, message string, attempts int) *kgo.Record {
	return deadletter.Encode(topic, partitions, deadletter.Record{
		Topic:     orig.Topic,
		Partition: orig.Partition,
		Offset:    orig.Offset,
		Key:       orig.Key,
		Value:     orig.Value,
		Timestamp: orig.Timestamp,
		Headers:   orig.Headers,
		Reason:    reason,
		Message:   message,
		Handler:   handler,
		Attempts:  attempts,
	})
}
