package strata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-go/strata/internal/engine"
)

// ensureInternalTopics creates the app's missing internal topics
// (repartition topics, then changelogs) and refuses to start when an
// existing one has the wrong number of partitions: a task's state lives in
// the changelog partition of the same number, and a repartition topic must
// have as many partitions as the tasks that read it, so the counts must
// match.
func (r *runner) ensureInternalTopics(ctx context.Context) error {
	want, err := r.app.top.InternalTopics(r.cfg.ApplicationID, func(topic string) (int, bool) {
		n, ok := r.partitions[topic]
		return n, ok
	})
	if err != nil {
		return fmt.Errorf("strata: plan internal topics: %w", err)
	}
	if len(want) == 0 {
		return nil
	}
	names := make([]string, len(want))
	for i, t := range want {
		names[i] = t.Name
	}
	details, err := r.adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("strata: look up internal topics: %w", err)
	}
	var created []string
	for _, t := range want {
		if t.Purpose == engine.Repartition {
			r.repartition[t.Name] = true
		}
		d, ok := details[t.Name]
		if ok && d.Err == nil {
			if got := len(d.Partitions); got != t.Partitions {
				return fmt.Errorf("strata: internal topic %q has %d partitions, but %s needs %d; delete the topic or restore the input's partition count", t.Name, got, t.Why, t.Partitions)
			}
			r.partitions[t.Name] = t.Partitions
			continue
		}
		if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("strata: look up internal topic %q: %w", t.Name, d.Err)
		}
		configs := make(map[string]*string, len(t.Configs))
		for k, v := range t.Configs {
			configs[k] = &v
		}
		if _, err := r.createTopic(ctx, t.Name, t.Partitions, configs); err != nil {
			return fmt.Errorf("strata: create internal topic %q for %s: %w", t.Name, t.Why, err)
		}
		r.log.Info("created internal topic", "topic", t.Name, "partitions", t.Partitions)
		r.partitions[t.Name] = t.Partitions
		created = append(created, t.Name)
	}
	r.refreshMetadata(ctx, created)
	return nil
}

// refreshMetadata replaces what the admin client cached of topics, just
// created: the lookup before their creation cached them as unknown, for
// up to the client's metadata min age, which made the first listing of the
// tasks' input positions (learnPositions) fail at every first start of an
// app reading an internal topic, such as a handler's retry topic. A failure
// only leaves the cache to expire.
func (r *runner) refreshMetadata(ctx context.Context, topics []string) {
	if len(topics) == 0 {
		return
	}
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	// Anything cached longer than a nanosecond ago is fetched again.
	if _, err := r.restoreClient.RequestCachedMetadata(ctx, req, time.Nanosecond); err != nil {
		r.log.Debug("cannot refresh the metadata of created topics", "topics", topics, "err", err)
	}
}

// ensureDeadLetterTopic creates the dead-letter topic if a policy writes to
// it and it does not exist, with as many partitions as the
// largest input topic, and records its partition count.
func (r *runner) ensureDeadLetterTopic(ctx context.Context) error {
	if !r.cfg.deadLetters() {
		return nil
	}
	topic := r.cfg.DeadLetterTopic
	details, err := r.adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("strata: look up dead-letter topic %q: %w", topic, err)
	}
	if d, ok := details[topic]; ok && d.Err == nil {
		r.partitions[topic] = len(d.Partitions)
		return nil
	} else if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("strata: look up dead-letter topic %q: %w", topic, d.Err)
	}
	n := 1
	for _, src := range r.sources() {
		n = max(n, r.partitions[src])
	}
	created, err := r.createTopic(ctx, topic, n, nil)
	if err != nil {
		return fmt.Errorf("strata: create dead-letter topic %q: %w", topic, err)
	}
	if !created {
		// Created meanwhile by another instance: its count wins; the
		// producer looks it up when it first writes.
		return nil
	}
	r.log.Info("created dead-letter topic", "topic", topic, "partitions", n)
	r.partitions[topic] = n
	return nil
}

// createTopic creates topic with n partitions, the app's replication factor
// and configs. A topic that exists already (another instance created it
// meanwhile) is no error; created is false then.
func (r *runner) createTopic(ctx context.Context, topic string, n int, configs map[string]*string) (created bool, err error) {
	resp, err := r.adm.CreateTopic(ctx, int32(n), r.cfg.ReplicationFactor, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return false, nil
	}
	return err == nil, err
}

// purgeRepartition deletes the records of repartition topics below the
// offsets committed: they have been processed for good, and the topics
// keep records until purged. It runs at most once per CommitInterval (under
// exactly-once every poll commits, and a purge per transaction would add a
// request to each). Failures only delay the purge to the next one.
func (r *runner) purgeRepartition(ctx context.Context, committed func() map[string]map[int32]kgo.EpochOffset) {
	if len(r.repartition) == 0 || time.Since(r.lastPurge) < r.cfg.CommitInterval {
		return
	}
	r.lastPurge = time.Now()
	var offsets kadm.Offsets
	for topic, ps := range committed() {
		if !r.repartition[topic] {
			continue
		}
		for p, eo := range ps {
			offsets.Add(kadm.Offset{Topic: topic, Partition: p, At: eo.Offset, LeaderEpoch: -1})
		}
	}
	if len(offsets) == 0 {
		return
	}
	// The group client is used, not r.adm: it was created after the
	// repartition topics and consumes them, while r.adm's client looked
	// them up before they existed and franz-go keeps that for sharded
	// requests such as DeleteRecords.
	resp, err := kadm.NewClient(r.cl).DeleteRecords(ctx, offsets)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		r.log.Warn("purge repartition topics", "err", err)
	}
}
