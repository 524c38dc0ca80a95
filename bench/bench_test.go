package main

import (
	"context"
	"testing"

	"github.com/strata-go/strata/internal/benchkit"
)

// BenchmarkScenarios runs the bench command's scenarios as Go benchmarks:
// each moves b.N preloaded records (8 partitions, 10k keys, or the
// scenario's own number of keys and at least as many records) through one
// scenario on a fresh kfake broker, timed as the command times them, and
// reports records/s. Unlike the command, it runs the scenario in the
// benchmark's process, with the broker, so it reports no peak RSS; the
// command adds interleaving, a warm-up run and the report:
//
//	go test -run '^$' -bench Scenarios -benchtime 1000000x -count 5 ./bench/
func BenchmarkScenarios(b *testing.B) {
	for _, s := range benchkit.Scenarios() {
		b.Run(s.Name, func(b *testing.B) {
			ctx := context.Background()
			keys := 10_000
			if s.Keys > 0 {
				keys = s.Keys
			}
			n := s.Records(b.N)
			c, err := benchkit.Start(ctx, 8, n, keys, s.Preload)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			env := benchkit.Env{Cluster: c, In: benchkit.InTopic, Out: benchkit.OutTopic, Records: n, Keys: keys, StateDir: b.TempDir()}
			b.ResetTimer()
			took, err := s.Run(ctx, env)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Check(ctx, env); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(n)/took.Seconds(), "records/s")
		})
	}
}
