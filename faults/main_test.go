package faults_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs the scenarios with more parallelism than the default
// (GOMAXPROCS): most of a scenario's time is spent waiting on a fault (an
// outage, a request timing out), not computing. -test.parallel on the
// command line still decides.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
