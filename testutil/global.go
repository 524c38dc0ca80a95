package testutil

import (
	"slices"
	"time"

	"github.com/strata-go/strata/internal/engine"
)

// openGlobal makes and initialises the task that keeps the topology's global
// stores, if it has any, and routes every partition of the global topics to
// it. A record piped into a global topic updates its store before Pipe
// returns, so the next record processed sees it: the driver's timing of
// global updates is the idealised one, where an instance has read its global
// topics up to the record being processed.
func (d *Driver) openGlobal(state engine.StateConfig) error {
	partitions := map[string]int{}
	for _, topic := range d.top.GlobalTopics() {
		partitions[topic] = d.topic(topic).partitions
	}
	g, err := engine.NewGlobalTask(d.top, partitions, engine.TaskConfig{
		ApplicationID: d.cfg.ApplicationID,
		Collector:     (*collector)(d),
		Logger:        d.cfg.Logger,
		OnBadRecord:   engine.BadRecordPolicy(d.cfg.OnBadRecord),
		Now:           func() time.Time { return d.now },
		State:         state,
	})
	if g == nil || err != nil {
		return err
	}
	d.global = g
	for _, in := range g.Inputs() {
		tl := d.topic(in.Topic)
		if tl.inputs == nil {
			tl.inputs = make([]taskInput, tl.partitions)
		}
		tl.inputs[in.Partition] = taskInput{task: g, input: in}
	}
	if err := g.InitStores(); err != nil {
		return err
	}
	return g.Init()
}

// reads reports whether the topology reads topic, as a stream or a global
// store's source.
func (d *Driver) reads(topic string) bool {
	_, ok := d.top.TopicSubtopology[topic]
	return ok || slices.Contains(d.top.GlobalTopics(), topic)
}

// storeTasks are the tasks whose stores tests can read: every task, then the
// global task.
func (d *Driver) storeTasks() []*engine.Task {
	if d.global == nil {
		return d.order
	}
	return append(slices.Clip(d.order), d.global)
}
