package kafkaflags

import (
	"context"
	"encoding/json"
	"fmt"
)

// ReadJSON reads topic as Conn.ReadCommitted does, every record committed
// so far in each partition's order, and decodes each value as JSON into a T.
func ReadJSON[T any](ctx context.Context, c *Conn, topic string) ([]T, error) {
	recs, err := c.ReadCommitted(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Value, &out[i]); err != nil {
			return nil, fmt.Errorf("decode %s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
	}
	return out, nil
}
