package topology

import "strconv"

// BadRecordPolicy says what a task does with an input record whose key or
// value cannot be deserialized or whose timestamp is invalid (the runtime's
// Config.OnBadRecord), and with a record a processor fails with a
// ProcessingError (Config.OnProcessingError), a panic while it is processed
// included (see PanicError). No policy drops a record silently.
type BadRecordPolicy int

// The values match engine.BadRecordPolicy, so runtimes convert directly.

const (
	// BadRecordFail stops processing with a *BadRecordError carrying the
	// record's topic, partition and offset. It is the default, as in
	// Kafka Streams (LogAndFailExceptionHandler).
	BadRecordFail BadRecordPolicy = iota
	// BadRecordSkip logs the record's coordinates and the reason at WARN,
	// counts it in the task's skipped-records metric and goes on.
	BadRecordSkip
	// BadRecordDeadLetter writes the record, as it was read, to the
	// application's dead-letter topic with headers naming its topic,
	// partition, offset and the reason (package deadletter), logs and
	// counts it as BadRecordSkip does, and goes on. Under exactly-once
	// the dead-letter record commits with the input offset past it. Bad
	// records of a global store's topic, or of a source topic a table's
	// store restores from, are skipped instead: those are read outside
	// the workers' transactions.
	BadRecordDeadLetter
)

// String returns "fail", "skip" or "dead-letter".
func (p BadRecordPolicy) String() string {
	switch p {
	case BadRecordFail:
		return "fail"
	case BadRecordSkip:
		return "skip"
	case BadRecordDeadLetter:
		return "dead-letter"
	}
	return "BadRecordPolicy(" + strconv.Itoa(int(p)) + ")"
}

// Valid reports whether p is a known policy.
func (p BadRecordPolicy) Valid() bool { return p >= BadRecordFail && p <= BadRecordDeadLetter }
