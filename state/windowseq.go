package state

import (
	"encoding/binary"
	"fmt"
)

// seqKey holds the sequence-number reservation of a persistent window store
// that retains duplicates.
var seqKey = append(append([]byte(nil), metaPrefix...), "dup-seq"...)

// seqBlock is how many sequence numbers a persistent store reserves at a
// time: one write to seqKey per seqBlock puts, and at most seqBlock numbers
// skipped per restart.
const seqBlock = 1 << 16

// dupSeq numbers the duplicates of a window store that retains them, as
// Kafka Streams does: one counter per store, incremented on every put, so
// duplicates of a key and window sort in the order they were put. Unlike
// Kafka's, the counter continues across restarts, so a restarted store never
// overwrites a duplicate it kept:
//
//   - a persistent store reserves numbers in blocks, saving the end of the
//     block (seqKey) before it hands out the first number of the block, and
//     starts after the saved end when it opens;
//   - restoring from the changelog, the store continues from the number of
//     the last record restored (changelog order is put order);
//   - a persistent store that holds entries but no reservation (written by a
//     version that numbered duplicates per key and window) starts after the
//     highest number it holds.
//
// The counter is 32 bits, the sequence number of Kafka's WindowKeySchema,
// and wraps after 2^32 puts (Kafka's wraps after 2^31): duplicates of one key
// and window put across the wrap sort out of order, and a number is reused
// only 2^32 puts later, long after the windows of any real retention expired.
type dupSeq struct {
	last     uint32 // the last number handed out
	reserved uint32 // numbers up to this one may be handed out without saving
}

// nextSeq returns the sequence number of a new duplicate.
func (s *windowStore[K, V]) nextSeq() (uint32, error) {
	q := &s.seq
	if q.last == q.reserved {
		end := q.last + seqBlock
		if !s.spec.inMemory {
			if err := s.db.Set(seqKey, binary.BigEndian.AppendUint32(nil, end)); err != nil {
				return 0, fmt.Errorf("reserve sequence numbers: %w", err)
			}
		}
		q.reserved = end
	}
	q.last++
	return q.last, nil
}

// loadSeq recovers the counter of a persistent store that retains
// duplicates when it opens.
func (s *windowStore[K, V]) loadSeq() error {
	if !s.dups || s.spec.inMemory {
		return nil
	}
	v, ok, err := s.db.Get(seqKey)
	if err != nil {
		return err
	}
	if ok {
		if len(v) != 4 {
			return fmt.Errorf("sequence number reservation has %d bytes, want 4", len(v))
		}
		s.seq.last = be32(v)
		s.seq.reserved = s.seq.last
		return nil
	}
	it := s.db.Iter(nil, metaPrefix, false)
	for it.Next() {
		k := it.Key()
		if len(k) < windowSeqLen {
			it.Close()
			return fmt.Errorf("entry key %x is shorter than a sequence number", k)
		}
		s.seq.last = max(s.seq.last, be32(k[len(k)-windowSeqLen:]))
	}
	s.seq.reserved = s.seq.last
	return it.Close()
}

// restoredSeq continues the counter after a restored changelog key (the
// serialized record key, window start and sequence number). The next put
// saves a new reservation.
func (s *windowStore[K, V]) restoredSeq(changelogKey []byte) {
	if s.dups {
		s.seq.last = be32(changelogKey[len(changelogKey)-windowSeqLen:])
		s.seq.reserved = s.seq.last
	}
}
