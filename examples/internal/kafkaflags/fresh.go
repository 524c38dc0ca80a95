package kafkaflags

import "context"

// ConnectFresh connects as Connect does and then, unless reuse, refuses
// output topics that hold records (CheckUnused): what an example's run
// does first.
func (f *Flags) ConnectFresh(ctx context.Context, reuse bool, topics ...Topic) (*Conn, error) {
	c, err := f.Connect(ctx, topics...)
	if err != nil {
		return nil, err
	}
	if !reuse {
		if err := c.CheckUnused(ctx, topics...); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}
