package kv

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"

	"github.com/cockroachdb/pebble/v2"
)

// bufIndex locates, in a write buffer's batch, the latest point write of
// each key and the range deletions, so that a Get can tell from the batch
// alone whether the key was written since the last commit: if so the batch
// answers it, and if not the database does, with Pebble's point lookup
// (DB.Get: no iterator, and bloom filters skip the tables that cannot
// hold the key). Without it, every Get of a key the batch does not hold
// had to seek an iterator through the batch, the memtables and every
// level of the LSM.
//
// Keys are indexed by a hash, to keep writes free of allocations: a
// lookup checks the key stored at the offset it finds, and when another
// key with the same hash was written later it cannot answer (the caller
// then reads through an iterator).
type bufIndex struct {
	seed maphash.Seed
	// at maps the hash of a key to the offset, in the batch's
	// representation, of the key's latest Set or Delete.
	at map[uint64]uint32
	// rangeDels are the offsets of the batch's range deletions, in
	// order.
	rangeDels []uint32
	// lost is set when the batch holds a write the index does not
	// understand: lookups then cannot answer until the next commit.
	lost bool
}

func newBufIndex() bufIndex {
	return bufIndex{seed: maphash.MakeSeed(), at: map[uint64]uint32{}}
}

// reset empties the index for a new batch, keeping its memory.
func (x *bufIndex) reset() {
	clear(x.at)
	x.rangeDels = x.rangeDels[:0]
	x.lost = false
}

func (x *bufIndex) hash(key []byte) uint64 { return maphash.Bytes(x.seed, key) }

// wrote indexes a record of kind for key at offset off of the batch's
// representation, just appended.
func (x *bufIndex) wrote(kind pebble.InternalKeyKind, key []byte, off int) {
	switch kind {
	case pebble.InternalKeyKindSet, pebble.InternalKeyKindDelete:
		x.at[x.hash(key)] = uint32(off)
	case pebble.InternalKeyKindRangeDelete:
		x.rangeDels = append(x.rangeDels, uint32(off))
	default:
		x.lost = true
	}
}

// appended indexes the records of repr, a batch's representation, from
// offset from to its end.
func (x *bufIndex) appended(repr []byte, from int) {
	for off := from; off < len(repr); {
		kind, key, _, next, ok := batchRecord(repr, off)
		if !ok {
			x.lost = true
			return
		}
		x.wrote(kind, key, off)
		off = next
	}
}

// bufLookup is what the batch says of a key.
type bufLookup int

const (
	// bufUnknown: the index cannot tell (a hash collision, or a write it
	// does not understand); read through an iterator.
	bufUnknown bufLookup = iota
	// bufAbsent: the batch holds no write of the key; the database
	// has its value.
	bufAbsent
	// bufSet: the batch sets the key; the value is the batch's.
	bufSet
	// bufDeleted: the batch deletes the key.
	bufDeleted
)

// lookup returns what the batch whose representation is repr says of key,
// and the value it sets (a slice of repr) if it does.
func (x *bufIndex) lookup(repr, key []byte) ([]byte, bufLookup) {
	if x.lost {
		return nil, bufUnknown
	}
	var value []byte
	state := bufAbsent
	from := 0 // range deletions at or after this offset apply
	if off, ok := x.at[x.hash(key)]; ok {
		kind, k, v, _, ok := batchRecord(repr, int(off))
		if !ok || !bytes.Equal(k, key) {
			return nil, bufUnknown
		}
		state, value = bufDeleted, nil
		if kind == pebble.InternalKeyKindSet {
			state, value = bufSet, v
		}
		from = int(off)
	}
	for _, off := range x.rangeDels {
		if int(off) < from {
			continue
		}
		_, start, end, _, ok := batchRecord(repr, int(off))
		if !ok {
			return nil, bufUnknown
		}
		if bytes.Compare(start, key) <= 0 && bytes.Compare(key, end) < 0 {
			return nil, bufDeleted
		}
	}
	return value, state
}

// batchRecord decodes the record at offset off of repr, a Pebble batch's
// representation: a kind byte, the key (a varint length and the bytes)
// and, for a Set or a range deletion, the value or the end key (likewise).
// It returns the offset of the next record; ok is false if the record is
// malformed or of a kind that has a value but is neither of those.
func batchRecord(repr []byte, off int) (kind pebble.InternalKeyKind, key, value []byte, next int, ok bool) {
	if off >= len(repr) {
		return 0, nil, nil, 0, false
	}
	kind = pebble.InternalKeyKind(repr[off])
	rest := repr[off+1:]
	if key, rest, ok = varString(rest); !ok {
		return 0, nil, nil, 0, false
	}
	switch kind {
	case pebble.InternalKeyKindSet, pebble.InternalKeyKindRangeDelete:
		if value, rest, ok = varString(rest); !ok {
			return 0, nil, nil, 0, false
		}
	case pebble.InternalKeyKindDelete:
	default:
		return kind, nil, nil, 0, false
	}
	return kind, key, value, len(repr) - len(rest), true
}

// varString decodes a varint length and that many bytes.
func varString(b []byte) (s, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}
