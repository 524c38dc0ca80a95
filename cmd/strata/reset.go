package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	stratalib "github.com/strata-go/strata"
)

func init() {
	register(&command{
		name: "reset",
		summary: "reset an application to reprocess its input (Kafka's application reset tool): move its input offsets back, delete its " +
			"internal topics, wipe its local state; refuses while an instance runs",
		setup: reset,
	})
}

// resetPlan is what reset does.
type resetPlan struct {
	app string
	// to describes where the input offsets go.
	to      string
	inputs  []string
	offsets kadm.Offsets
	// from are the offsets committed now, by topic and partition.
	from kadm.OffsetResponses
	// topics are the topics to delete, with their kinds; internalCommits
	// the committed offsets of topics to delete, dropped too.
	topics          []string
	kinds           map[string]string
	internalCommits kadm.TopicsSet
	stateDir        string
}

func reset(fs *flag.FlagSet) runFunc {
	f := &resetFlags{app: addAppFlags(fs)}
	fs.StringVar(&f.inputs, "input-topics", "", "the input `topics` whose offsets to move, comma-separated (default: every topic the application has committed offsets of that is not one of its internal topics)")
	fs.BoolVar(&f.earliest, "to-earliest", false, "move the input offsets to the earliest offsets (the default)")
	fs.StringVar(&f.datetime, "to-datetime", "", "move the input offsets to the first records at or after this `time`, RFC 3339 (2026-01-02T15:04:05Z)")
	fs.DurationVar(&f.ago, "by-duration", 0, "move the input offsets to the first records at or after this `duration` ago (90m, 36h)")
	fs.StringVar(&f.stateDir, "state-dir", "", "wipe the application's local state in this `directory` (Config.StateDir): <directory>/<app>; run reset on each machine of the application, or wipe each one's state otherwise")
	fs.BoolVar(&f.withDLT, "include-dead-letter", false, "delete the dead-letter topic too")
	fs.StringVar(&f.dlt, "dead-letter-topic", "", "the application's dead-letter `topic` (Config.DeadLetterTopic; default <app>-dead-letter)")
	fs.BoolVar(&f.withRetry, "include-retry", false, "delete the retry topics (<app>-<handler>-retry) too")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print what reset would do, and do nothing")
	return f.run
}

// resetFlags are reset's flags.
type resetFlags struct {
	app                                  *appFlags
	inputs, datetime, stateDir, dlt      string
	ago                                  time.Duration
	earliest, withDLT, withRetry, dryRun bool
}

func (f *resetFlags) run(ctx context.Context, out io.Writer) error {
	kf := f.app
	var millis int64 = -1
	to := "the earliest offsets"
	switch n := countTrue(f.earliest, f.datetime != "", f.ago != 0); {
	case n > 1:
		return fmt.Errorf("%w: give at most one of -to-earliest, -to-datetime and -by-duration", errUsage)
	case f.datetime != "":
		at, err := time.Parse(time.RFC3339Nano, f.datetime)
		if err != nil {
			return fmt.Errorf("%w: -to-datetime: %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z: %w", errUsage, f.datetime, err)
		}
		millis, to = at.UnixMilli(), "the first records at or after "+at.UTC().Format(time.RFC3339Nano)
	case f.ago < 0:
		return fmt.Errorf("%w: -by-duration must be positive, got %v", errUsage, f.ago)
	case f.ago > 0:
		at := time.Now().Add(-f.ago)
		millis, to = at.UnixMilli(), fmt.Sprintf("the first records at or after %s (%v ago)", at.UTC().Format(time.RFC3339), f.ago)
	}
	if f.dlt != "" && !f.withDLT {
		return fmt.Errorf("%w: -dead-letter-topic needs -include-dead-letter", errUsage)
	}
	adm, ctx, done, err := kf.connect(ctx)
	if err != nil {
		return err
	}
	defer done()

	if err := checkStopped(ctx, adm, kf.app); err != nil {
		return err
	}
	plan, err := planReset(ctx, adm, kf.app, splitList(f.inputs), millis, deadLetterTopic(f.dlt, kf.app), f.withDLT, f.withRetry)
	if err != nil {
		return err
	}
	plan.to = to
	if f.stateDir != "" {
		plan.stateDir = filepath.Join(f.stateDir, kf.app)
	}
	plan.print(out)
	if f.dryRun {
		_, err := fmt.Fprintln(out, "dry run: nothing changed")
		return err
	}
	if err := plan.apply(ctx, adm); err != nil {
		return err
	}
	wiped := ""
	if plan.stateDir != "" {
		wiped = ", wiped " + plan.stateDir
	}
	_, err = fmt.Fprintf(out, "done: moved %d input offsets, deleted %d topics%s\n", len(plan.offsets.Sorted()), len(plan.topics), wiped)
	return err
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// checkStopped refuses when the application's consumer group has members:
// an instance runs, or a static member's session has not expired yet.
func checkStopped(ctx context.Context, adm *kadm.Client, app string) error {
	groups, err := adm.DescribeGroups(ctx, app)
	if err != nil {
		return fmt.Errorf("describe consumer group %q: %w", app, err)
	}
	g, ok := groups[app]
	if !ok {
		return nil
	}
	if g.Err != nil {
		return fmt.Errorf("describe consumer group %q: %w", app, g.Err)
	}
	if len(g.Members) == 0 {
		return nil
	}
	var members []string
	for _, m := range g.Members {
		id := m.MemberID
		if m.InstanceID != nil {
			id = *m.InstanceID
		}
		members = append(members, id+"@"+m.ClientHost)
	}
	return fmt.Errorf("application %s is running: its consumer group has %d members (%s); stop every instance first (a static member stays until its session times out)",
		app, len(members), strings.Join(members, ", "))
}

// planReset works out what reset does: where the input topics' offsets go
// (to the earliest when millis is -1, else to the first records at or after
// millis), which topics are deleted.
func planReset(ctx context.Context, adm *kadm.Client, app string, inputs []string, millis int64, deadLetter string, withDLT, withRetry bool) (*resetPlan, error) {
	committed, err := fetchCommitted(ctx, adm, app)
	if err != nil {
		return nil, err
	}
	kinds, details, err := appTopics(ctx, adm, app, deadLetter)
	if err != nil {
		return nil, err
	}
	p := &resetPlan{app: app, from: committed, kinds: map[string]string{}, internalCommits: kadm.TopicsSet{}}
	for topic, kind := range kinds {
		if kind == kindDeadLetter && !withDLT || kind == kindRetry && !withRetry {
			continue
		}
		p.topics = append(p.topics, topic)
		p.kinds[topic] = kind
	}
	slices.Sort(p.topics)
	for topic, parts := range committed {
		if _, ok := p.kinds[topic]; ok {
			for part := range parts {
				p.internalCommits.Add(topic, part)
			}
		}
	}
	if len(inputs) == 0 {
		for topic := range committed {
			if _, internal := kinds[topic]; !internal {
				inputs = append(inputs, topic)
			}
		}
	}
	for _, topic := range inputs {
		if _, ok := details[topic]; !ok {
			return nil, fmt.Errorf("input topic %q does not exist", topic)
		}
		if kind, ok := kinds[topic]; ok {
			return nil, fmt.Errorf("%q is the application's %s topic, not an input topic", topic, kind)
		}
	}
	slices.Sort(inputs)
	p.inputs = inputs
	if len(inputs) == 0 {
		return p, nil
	}
	var listed kadm.ListedOffsets
	if millis < 0 {
		listed, err = adm.ListStartOffsets(ctx, inputs...)
	} else {
		listed, err = adm.ListOffsetsAfterMilli(ctx, millis, inputs...)
	}
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list the offsets of %q: %w", inputs, err)
	}
	p.offsets = listed.Offsets()
	return p, nil
}

// print writes the plan.
func (p *resetPlan) print(out io.Writer) {
	fmt.Fprintf(out, "reset application %s (consumer group %s):\n", p.app, p.app)
	if len(p.inputs) == 0 {
		fmt.Fprintln(out, "  no input topics: the application has committed no offsets of any (name them with -input-topics)")
	} else {
		fmt.Fprintf(out, "  move the offsets of input topics %s to %s:\n", strings.Join(p.inputs, ", "), p.to)
		for _, o := range p.offsets.Sorted() {
			from := "none"
			if c, ok := p.from.Lookup(o.Topic, o.Partition); ok && c.At >= 0 {
				from = fmt.Sprint(c.At)
			}
			fmt.Fprintf(out, "    %s[%d]: %s -> %d\n", o.Topic, o.Partition, from, o.At)
		}
	}
	if len(p.topics) == 0 {
		fmt.Fprintln(out, "  no internal topics to delete")
	} else {
		fmt.Fprintln(out, "  delete topics:")
		for _, t := range p.topics {
			fmt.Fprintf(out, "    %s (%s)\n", t, p.kinds[t])
		}
	}
	if p.stateDir != "" {
		state := "exists"
		if _, err := os.Stat(p.stateDir); errors.Is(err, os.ErrNotExist) {
			state = "does not exist"
		}
		fmt.Fprintf(out, "  wipe the local state directory %s (%s)\n", p.stateDir, state)
	}
}

// apply carries the plan out: the local state first, which fails while an
// instance on this machine holds it, so that nothing else changes then;
// then the input offsets, the committed offsets of the topics deleted (a
// topic created again starts from its beginning), and the topics.
func (p *resetPlan) apply(ctx context.Context, adm *kadm.Client) error {
	if p.stateDir != "" {
		if err := stratalib.CleanUp(filepath.Dir(p.stateDir), p.app); err != nil {
			return fmt.Errorf("wipe the local state: %w", err)
		}
	}
	if len(p.offsets) > 0 {
		resps, err := adm.CommitOffsets(ctx, p.app, p.offsets)
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			return fmt.Errorf("commit the input offsets: %w", err)
		}
	}
	if len(p.internalCommits) > 0 {
		resps, err := adm.DeleteOffsets(ctx, p.app, p.internalCommits)
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			return fmt.Errorf("delete the committed offsets of the internal topics: %w", err)
		}
	}
	if len(p.topics) > 0 {
		resps, err := adm.DeleteTopics(ctx, p.topics...)
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			return fmt.Errorf("delete topics: %w", err)
		}
	}
	return nil
}
