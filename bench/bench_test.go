package main

import (
	"context"
	"testing"

	"github.com/strata-go/strata/internal/benchkit"
)

// BenchmarkScenarios runs the bench command's scenarios as Go benchmarks:
// each moves b.N preloaded records (8 partitions, 10k keys) through one
// scenario on a fresh kfake broker, timed as the command times them, and
// reports records/s. The command adds interleaving, a warm-up run and the
// report; this makes the same numbers reproducible with go test:
//
//	go test -run '^$' -bench Scenarios -benchtime 1000000x -count 5 ./bench/
func BenchmarkScenarios(b *testing.B) {
	for _, s := range benchkit.Scenarios() {
		b.Run(s.Name, func(b *testing.B) {
			ctx := context.Background()
			c, err := benchkit.Start(ctx, 8, b.N, 10_000)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			env := benchkit.Env{Cluster: c, In: benchkit.InTopic, Out: benchkit.OutTopic, Records: b.N, Keys: 10_000, StateDir: b.TempDir()}
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
			b.ReportMetric(float64(b.N)/took.Seconds(), "records/s")
		})
	}
}
