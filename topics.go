package strata

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-go/strata/internal/engine"
)

// internalTopic is a topic the app creates and owns.
type internalTopic struct {
	name       string
	partitions int32
	configs    map[string]*string
	// why says what needs the topic, for error messages.
	why string
}

// internalTopics lists the changelogs of the topology's logged stores, each
// with as many partitions as its sub-topology has tasks.
func (r *runner) internalTopics() []internalTopic {
	var out []internalTopic
	for _, st := range r.app.top.Subtopologies {
		n := 0
		for _, t := range st.SourceTopics {
			n = max(n, r.partitions[t])
		}
		for _, name := range st.Stores {
			def := r.app.top.Graph.Store(name)
			if !def.Logged {
				continue
			}
			cfgs := map[string]*string{}
			for k, v := range def.ChangelogConfigs {
				cfgs[k] = &v
			}
			out = append(out, internalTopic{
				name:       engine.ChangelogTopic(r.cfg.ApplicationID, name),
				partitions: int32(n),
				configs:    cfgs,
				why:        fmt.Sprintf("store %q, whose sub-topology %d reads %q", name, st.ID, st.SourceTopics),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// ensureInternalTopics creates missing internal topics and refuses to start
// when an existing one has the wrong number of partitions: a task's state
// lives in the changelog partition of the same number, so the counts must
// match.
func (r *runner) ensureInternalTopics(ctx context.Context) error {
	want := r.internalTopics()
	if len(want) == 0 {
		return nil
	}
	names := make([]string, len(want))
	for i, t := range want {
		names[i] = t.name
	}
	details, err := r.adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("strata: look up internal topics: %w", err)
	}
	for _, t := range want {
		d, ok := details[t.name]
		if ok && d.Err == nil {
			if got := int32(len(d.Partitions)); got != t.partitions {
				return fmt.Errorf("strata: internal topic %q has %d partitions, but %s with %d partitions; delete the topic or restore the input's partition count", t.name, got, t.why, t.partitions)
			}
			r.partitions[t.name] = int(t.partitions)
			continue
		}
		if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("strata: look up internal topic %q: %w", t.name, d.Err)
		}
		resp, err := r.adm.CreateTopic(ctx, t.partitions, r.cfg.ReplicationFactor, t.configs, t.name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("strata: create internal topic %q for %s: %w", t.name, t.why, err)
		}
		r.log.Info("created internal topic", "topic", t.name, "partitions", t.partitions)
		r.partitions[t.name] = int(t.partitions)
	}
	return nil
}
