// Package commitmeta is the metadata Strata commits with the consumer
// group's offsets: the task whose input each offset is, so that a tool
// reading the group's offsets with no instance running (strata lag) can
// report lag per task. Kafka Streams commits metadata with its offsets
// too (a partition's time); franz-go's default is the member ID.
package commitmeta

import "strings"

// prefix begins the metadata Strata commits.
const prefix = "strata:task="

// Encode returns the metadata of an offset of task's input, task being its
// ID as "<sub-topology>_<partition>".
func Encode(task string) string { return prefix + task }

// Task returns the task ID the metadata of a committed offset names, and
// false when Strata did not write it.
func Task(meta string) (string, bool) {
	task, ok := strings.CutPrefix(meta, prefix)
	return task, ok && task != ""
}
