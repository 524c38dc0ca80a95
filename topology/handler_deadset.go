package topology

import (
	"errors"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/retry"
)

// deadSetRecord is the dead-set record of orig, the handler's input as it
// got it first (its key, value, timestamp and headers; its Topic, Partition
// and Offset the original coordinates), for the dead-letter topic topic of
// partitions partitions: the dead-letter format of package deadletter, with
// reason and message, plus the handler's name and the number of attempts
// made (retry.HeaderHandler, retry.HeaderAttempts). Every dead-set record
// of a handler is made here.
func deadSetRecord(topic string, partitions int, orig *kgo.Record, handler, reason, message string, attempts int) *kgo.Record {
	dl := deadletter.New(topic, partitions, orig, reason, errors.New(message))
	dl.Headers = append(dl.Headers,
		kgo.RecordHeader{Key: retry.HeaderHandler, Value: []byte(handler)},
		kgo.RecordHeader{Key: retry.HeaderAttempts, Value: strconv.AppendInt(nil, int64(attempts), 10)},
	)
	return dl
}
