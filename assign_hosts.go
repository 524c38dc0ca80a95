package strata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
)

// This file is the map of the application's instances that the group's
// leader sends every member, as Kafka Streams' AssignmentInfo carries
// partitionsByHost and standbyPartitionByHost: every instance (process), the
// ApplicationServer it advertises in its member user data (taskFieldServer)
// and the tasks its members run, active and standby, after this rebalance.
// Any instance can then tell where any key lives (query.Instances,
// KeyMetadata), whether or not it holds the key.
//
// It is field 3 of the assignment's user data (assign_standby.go), in the
// same framing, of version 3:
//
//	tag 3, instances: generation:varint count:uvarint instance*
//	  instance = id:string server:string active:tasks standby:tasks
//	  string   = length:uvarint bytes
//	  tasks    = count:uvarint (subtopology:uvarint partition:uvarint)*
//
// Instances are sorted by ID and tasks by task. A member that reports no
// process is an instance of its own, named by its member ID. The map is the
// same in every member's assignment; members keep the one of the highest
// generation they have received.

// instanceMap builds the instance map of a balance: members are sorted, and
// p.assigned and p.standby are indexed as they are.
func instanceMap(generation int32, members []taskMember, ts *taskSpace, p *taskPlan) iq.Metadata {
	byID := map[string]*iq.Instance{}
	var ids []string
	for i, m := range members {
		id := m.data.process
		if id == "" {
			id = m.join.MemberID
		}
		in := byID[id]
		if in == nil {
			in = &iq.Instance{ID: id}
			byID[id] = in
			ids = append(ids, id)
		}
		if in.Server == "" {
			in.Server = m.data.server
		}
		for topic, parts := range p.assigned[i] {
			for _, part := range parts {
				if k, ok := ts.task(topic, part); ok && !slices.Contains(in.Active, ts.ids[k]) {
					in.Active = append(in.Active, ts.ids[k])
				}
			}
		}
		in.Standby = append(in.Standby, p.standby[i]...)
	}
	slices.Sort(ids)
	md := iq.Metadata{Generation: generation, Self: -1}
	for _, id := range ids {
		in := byID[id]
		slices.SortFunc(in.Active, compareTaskIDs)
		slices.SortFunc(in.Standby, compareTaskIDs)
		in.Standby = slices.Compact(in.Standby)
		md.Instances = append(md.Instances, *in)
	}
	return md
}

// appendInstances appends the instance field's payload for md to dst.
func appendInstances(dst []byte, md iq.Metadata) []byte {
	dst = binary.AppendVarint(dst, int64(md.Generation))
	dst = binary.AppendUvarint(dst, uint64(len(md.Instances)))
	for _, in := range md.Instances {
		dst = appendString(dst, in.ID)
		dst = appendString(dst, in.Server)
		dst = appendTaskList(dst, in.Active)
		dst = appendTaskList(dst, in.Standby)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendTaskList(dst []byte, ids []engine.TaskID) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		dst = binary.AppendUvarint(dst, uint64(id.Subtopology))
		dst = binary.AppendUvarint(dst, uint64(id.Partition))
	}
	return dst
}

// parseAssignmentInstances returns the instance map of an assignment's user
// data, and whether it has one.
func parseAssignmentInstances(b []byte) (iq.Metadata, bool, error) {
	var md iq.Metadata
	var found bool
	_, err := parseFields(b, func(tag uint64, f []byte) error {
		if tag != assignmentFieldInstances {
			return nil
		}
		var err error
		md, err = parseInstances(f)
		found = err == nil
		return err
	})
	if err != nil {
		return iq.Metadata{}, false, fmt.Errorf("assignment user data: %w", err)
	}
	return md, found, nil
}

// parseInstances decodes what appendInstances wrote.
func parseInstances(f []byte) (iq.Metadata, error) {
	r := fieldReader{b: f}
	md := iq.Metadata{Generation: int32(r.varint()), Self: -1}
	n := r.count(4) // an instance takes at least four bytes
	for range n {
		var in iq.Instance
		in.ID, in.Server = r.string(), r.string()
		in.Active, in.Standby = r.tasks(), r.tasks()
		md.Instances = append(md.Instances, in)
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return iq.Metadata{}, fmt.Errorf("instances: %v", r.err)
	}
	return md, nil
}

// fieldReader reads the values of a field, keeping the first error.
type fieldReader struct {
	b   []byte
	err error
}

func (r *fieldReader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > max {
		r.err = errors.New("bad number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *fieldReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errors.New("bad number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items that take at least size bytes each.
func (r *fieldReader) count(size int) uint64 {
	return r.uvarint(uint64(len(r.b)) / uint64(size))
}

func (r *fieldReader) string() string {
	n := r.uvarint(uint64(len(r.b)))
	if r.err != nil || n > uint64(len(r.b)) {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *fieldReader) tasks() []engine.TaskID {
	n := r.count(2)
	var ids []engine.TaskID
	for range n {
		st := r.uvarint(1<<31 - 1)
		part := r.uvarint(1<<31 - 1)
		if r.err != nil {
			return nil
		}
		ids = append(ids, engine.TaskID{Subtopology: int(st), Partition: int32(part)})
	}
	return ids
}
