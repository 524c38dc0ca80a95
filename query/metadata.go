package query

import (
	"fmt"
	"maps"
	"slices"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/iq"
	"github.com/strata-go/strata/serde"
)

// Instance is one instance of the application, as the consumer group's
// last assignment describes it, Kafka Streams' StreamsMetadata: where it
// can be reached, and which partitions of which stores it holds.
type Instance struct {
	// ID is the instance's Config.InstanceID.
	ID string
	// Server is the instance's Config.ApplicationServer, "host:port";
	// empty when it advertises none.
	Server string
	// Local reports that the instance is the one asked.
	Local bool
	// Active maps each store to the partitions the instance runs, in
	// order. A global store has one partition, 0, on every instance.
	Active map[string][]int32
	// Standby maps each store to the partitions the instance keeps
	// standby replicas of, in order.
	Standby map[string][]int32
}

// KeyMetadata says where a key of a store lives, Kafka Streams'
// KeyQueryMetadata.
type KeyMetadata struct {
	// Partition is the store's partition that holds the key: the one
	// Kafka's default partitioner picks for the key's bytes, as
	// serialized by the store's key serde.
	Partition int32
	// Active is the instance running the partition; nil when none does
	// (it is moving: ask again shortly).
	Active *Instance
	// Standbys are the instances keeping standby replicas of it.
	Standbys []Instance
}

// Instances returns every instance of the application src belongs to, in
// order of ID, as the last assignment this instance received describes
// them. During a rebalance it describes the assignment before.
func Instances(src Source) ([]Instance, error) {
	if src == nil {
		return nil, fmt.Errorf("query: Instances: nil source")
	}
	return instances(src.QuerySource())
}

func instances(s iq.Source) ([]Instance, error) {
	md, err := s.Metadata()
	if err != nil {
		return nil, err
	}
	top := s.Topology()
	var globals []string
	for _, d := range top.Graph.Stores {
		if d.Global {
			globals = append(globals, d.Name)
		}
	}
	out := make([]Instance, 0, len(md.Instances))
	for i, in := range md.Instances {
		inst := Instance{ID: in.ID, Server: in.Server, Local: i == md.Self, Active: map[string][]int32{}, Standby: map[string][]int32{}}
		addTasks(top, inst.Active, in.Active)
		addTasks(top, inst.Standby, in.Standby)
		for _, g := range globals {
			inst.Active[g] = []int32{0}
		}
		out = append(out, inst)
	}
	slices.SortFunc(out, func(a, b Instance) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// addTasks adds to stores the partitions of tasks, by store.
func addTasks(top *engine.Topology, stores map[string][]int32, tasks []engine.TaskID) {
	for _, id := range tasks {
		if id.Subtopology < 0 || id.Subtopology >= len(top.Subtopologies) {
			continue
		}
		for _, name := range top.Subtopologies[id.Subtopology].Stores {
			if !slices.Contains(stores[name], id.Partition) {
				stores[name] = append(stores[name], id.Partition)
			}
		}
	}
	for name := range maps.Keys(stores) {
		slices.Sort(stores[name])
	}
}

// keyMetadata is KeyMetadata for the store of h, whose keys ks serializes.
func keyMetadata[K any](h *handle, ks serde.Serde[K], key K) (KeyMetadata, error) {
	p, err := keyPartition(h, ks, key)
	if err != nil {
		return KeyMetadata{}, err
	}
	all, err := instances(h.src)
	if err != nil {
		return KeyMetadata{}, err
	}
	md := KeyMetadata{Partition: p}
	for i := range all {
		in := &all[i]
		switch {
		case slices.Contains(in.Active[h.name], p) && (md.Active == nil || h.global && in.Local):
			// Every instance holds a global store: this one answers.
			md.Active = in
		case slices.Contains(in.Standby[h.name], p):
			md.Standbys = append(md.Standbys, *in)
		}
	}
	return md, nil
}
