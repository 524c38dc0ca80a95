package strata_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/strata-go/strata"
)

// TestConfigBrokerAddresses: New accepts "host:port" seed brokers (an IPv6
// address in brackets) and refuses anything else, naming Brokers[i] and the
// value.
func TestConfigBrokerAddresses(t *testing.T) {
	top := upper(t, "in", "out", nil)
	for _, addr := range []string{"localhost:9092", "kafka-0.kafka.svc:1", "10.0.0.1:65535", "[::1]:9092", "[fe80::1%eth0]:9093"} {
		if _, err := strata.New(top, strata.Config{ApplicationID: "app", Brokers: []string{"localhost:9092", addr}}); err != nil {
			t.Errorf("Brokers %q: New: %v", addr, err)
		}
	}
	for _, addr := range []string{
		"",                      // empty
		"localhost",             // no port
		"localhost:",            // empty port
		":9092",                 // no host
		"localhost:http",        // port not numeric
		"localhost:0",           // port out of range
		"localhost:65536",       // port out of range
		"localhost:-1",          // negative
		"localhost:+9092",       // sign
		"::1:9092",              // IPv6 without brackets
		"[::1]",                 // IPv6 without port
		"localhost:9092,b:9092", // a list in one entry
		"kafka://localhost:9092",
		"local host:9092",
	} {
		_, err := strata.New(top, strata.Config{ApplicationID: "app", Brokers: []string{"localhost:9092", addr}})
		switch {
		case err == nil:
			t.Errorf("Brokers %q: New succeeded", addr)
		case !errors.Is(err, strata.ErrInvalidConfig):
			t.Errorf("Brokers %q: error %q does not wrap ErrInvalidConfig", addr, err)
		case !strings.Contains(err.Error(), ": Brokers[1]: "):
			t.Errorf("Brokers %q: error %q does not name Brokers[1]", addr, err)
		case addr != "" && !strings.Contains(err.Error(), addr):
			t.Errorf("Brokers %q: error %q does not quote the address", addr, err)
		}
	}
}

// TestConfigWorkersBound: Workers may be 1 to MaxWorkers (0 meaning 1).
func TestConfigWorkersBound(t *testing.T) {
	top := upper(t, "in", "out", nil)
	for _, n := range []int{0, 1, strata.MaxWorkers} {
		if _, err := strata.New(top, strata.Config{ApplicationID: "app", Brokers: []string{"localhost:9092"}, Workers: n}); err != nil {
			t.Errorf("Workers %d: New: %v", n, err)
		}
	}
	for _, n := range []int{-1, strata.MaxWorkers + 1, 1 << 20} {
		_, err := strata.New(top, strata.Config{ApplicationID: "app", Brokers: []string{"localhost:9092"}, Workers: n})
		if !errors.Is(err, strata.ErrInvalidConfig) || !strings.Contains(err.Error(), ": Workers: ") {
			t.Errorf("Workers %d: New = %v, want ErrInvalidConfig naming Workers", n, err)
		}
	}
}

// TestConfigInstanceIDLength: InstanceID is at most 240 characters, so
// that a worker's group instance ID, "<InstanceID>-<i>", stays within
// Kafka's 249.
func TestConfigInstanceIDLength(t *testing.T) {
	top := upper(t, "in", "out", nil)
	cfg := strata.Config{ApplicationID: "app", Brokers: []string{"localhost:9092"}, InstanceID: strings.Repeat("i", 240), Workers: strata.MaxWorkers}
	if _, err := strata.New(top, cfg); err != nil {
		t.Fatalf("InstanceID of 240 characters: New: %v", err)
	}
	cfg.InstanceID += "i"
	if _, err := strata.New(top, cfg); !errors.Is(err, strata.ErrInvalidConfig) || !strings.Contains(err.Error(), ": InstanceID: ") {
		t.Fatalf("InstanceID of 241 characters: New = %v, want ErrInvalidConfig naming InstanceID", err)
	}
}

// TestConfigFetchBounds: the fetch bounds are non-negative, FetchMaxBytes
// at most 1 GiB, and FetchMaxPartitionBytes at most FetchMaxBytes.
func TestConfigFetchBounds(t *testing.T) {
	top := upper(t, "in", "out", nil)
	for _, c := range []struct {
		max, part int32
		field     string // "" for valid
	}{
		{0, 0, ""},
		{1 << 20, 0, ""},
		{64 << 10, 0, ""}, // the partition default follows a smaller max
		{1 << 30, 1 << 30, ""},
		{-1, 0, "FetchMaxBytes"},
		{1<<30 + 1, 0, "FetchMaxBytes"},
		{0, -1, "FetchMaxPartitionBytes"},
		{1 << 20, 1<<20 + 1, "FetchMaxPartitionBytes"},
		{0, 4 << 20, "FetchMaxPartitionBytes"}, // above the 2 MiB default
	} {
		_, err := strata.New(top, strata.Config{ApplicationID: "app", Brokers: []string{"localhost:9092"},
			FetchMaxBytes: c.max, FetchMaxPartitionBytes: c.part})
		switch {
		case c.field == "" && err != nil:
			t.Errorf("FetchMaxBytes %d, FetchMaxPartitionBytes %d: New: %v", c.max, c.part, err)
		case c.field != "" && (!errors.Is(err, strata.ErrInvalidConfig) || !strings.Contains(err.Error(), ": "+c.field+": ")):
			t.Errorf("FetchMaxBytes %d, FetchMaxPartitionBytes %d: New = %v, want ErrInvalidConfig naming %s", c.max, c.part, err, c.field)
		}
	}
}
