package strata

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestClientOptionsFetchBounds checks the fetch bounds the instance's
// consuming clients are created with: the defaults, the configured values,
// and Config.ClientOptions overriding them.
func TestClientOptionsFetchBounds(t *testing.T) {
	for _, c := range []struct {
		name           string
		cfg            Config
		wantMax, wantP int32
	}{
		{"defaults", Config{}, defaultFetchMaxBytes, defaultFetchMaxPartitionBytes},
		{"configured", Config{FetchMaxBytes: 1 << 20, FetchMaxPartitionBytes: 64 << 10}, 1 << 20, 64 << 10},
		{"partition default within a smaller max", Config{FetchMaxBytes: 512 << 10}, 512 << 10, 512 << 10},
		{"ClientOptions", Config{FetchMaxBytes: 1 << 20, ClientOptions: []kgo.Opt{kgo.FetchMaxBytes(2 << 20), kgo.FetchMaxPartitionBytes(512 << 10)}}, 2 << 20, 512 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.ApplicationID, c.cfg.Brokers = "app", []string{"localhost:9092"}
			cfg, err := c.cfg.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(cfg.clientOptions(kgo.SeedBrokers(cfg.Brokers...))...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if got := cl.OptValue(kgo.FetchMaxBytes); got != c.wantMax {
				t.Errorf("FetchMaxBytes = %v, want %d", got, c.wantMax)
			}
			if got := cl.OptValue(kgo.FetchMaxPartitionBytes); got != c.wantP {
				t.Errorf("FetchMaxPartitionBytes = %v, want %d", got, c.wantP)
			}
			if got := cl.OptValue(kgo.FetchMaxWait); got != fetchMaxWait {
				t.Errorf("FetchMaxWait = %v, want Kafka's %v", got, fetchMaxWait)
			}
		})
	}
}
