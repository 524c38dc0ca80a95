package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/strata-go/strata/internal/iq"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/window"
)

// ServeKeyValue serves the key-value store called store, of keys K and
// values V (see KeyValue), with keys in URLs in the given format:
//
//	GET /stores/{store}/get?key=K
//	GET /stores/{store}/range[?from=K][&to=K][&prefix=K][&reverse=true][&limit=N]
func ServeKeyValue[K, V any](store string, keys KeyFormat[K], opts ...Option) Route {
	return newRoute(store, keys, func(src Source) (route, error) {
		s, err := KeyValue[K, V](src, store, opts...)
		return &kvRoute[K, V]{s: s, keys: keys}, err
	})
}

// ServeWindow serves the window store called store, of keys K and values V
// (see Window), with keys in URLs in the given format and times in RFC 3339
// or Unix milliseconds:
//
//	GET /stores/{store}/windows[?key=K][&from=T][&to=T][&limit=N]
//
// Without a key, it returns every key's windows.
func ServeWindow[K, V any](store string, keys KeyFormat[K], opts ...Option) Route {
	return newRoute(store, keys, func(src Source) (route, error) {
		s, err := Window[K, V](src, store, opts...)
		return &windowRoute[K, V]{s: s, keys: keys}, err
	})
}

// ServeSession serves the session store called store, of keys K and
// values V (see Session), with keys in URLs in the given format:
//
//	GET /stores/{store}/sessions[?key=K][&limit=N]
//
// Without a key, it returns every key's sessions.
func ServeSession[K, V any](store string, keys KeyFormat[K], opts ...Option) Route {
	return newRoute(store, keys, func(src Source) (route, error) {
		s, err := Session[K, V](src, store, opts...)
		return &sessionRoute[K, V]{s: s, keys: keys}, err
	})
}

// newRoute is a Route binding its store with bind, once keys is checked.
func newRoute[K any](store string, keys KeyFormat[K], bind func(src Source) (route, error)) Route {
	return Route{store: store, bind: func(src Source) (route, error) {
		if err := keys.check(store); err != nil {
			return nil, err
		}
		rt, err := bind(src)
		if err != nil {
			return nil, err
		}
		return rt, nil
	}}
}

// wrongOp answers an operation the store's kind has not.
func wrongOp(w http.ResponseWriter, store, kind, op string, ops ...string) {
	writeError(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("store %q is a %s store: use %q, not %q", store, kind, ops, op), Code: "unknown_operation"})
}

// keyParam parses the key parameter named name; ok false when it is
// absent.
func keyParam[K any](r *http.Request, keys KeyFormat[K], name string) (key K, ok bool, err error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return key, false, nil
	}
	key, err = keys.Parse(q.Get(name))
	return key, err == nil, err
}

// timeParam parses the time parameter named name, or returns def.
func timeParam(r *http.Request, name string, def int64) (int64, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return def, nil
	}
	t, err := parseTime(q.Get(name))
	return t.UnixMilli(), err
}

// drain reads up to limit entries of it (all when limit is 0) as JSON
// entries, and reports whether more followed.
func drain[IK, K, V any](it state.Iterator[IK, V], limit int, conv func(IK) (K, *time.Time, *time.Time)) (out []rawEntry[K], more bool, err error) {
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	for it.Next() {
		if limit > 0 && len(out) == limit {
			return out, true, nil
		}
		v, err := json.Marshal(it.Value())
		if err != nil {
			return nil, false, fmt.Errorf("encode a value as JSON: %w", err)
		}
		k, start, end := conv(it.Key())
		out = append(out, rawEntry[K]{Key: k, Start: start, End: end, Value: v})
	}
	return out, false, it.Err()
}

// mergeEntries orders the entries of several partitions by their keys'
// encoding, in reverse when asked, keeping the order of each key's entries,
// and cuts them to limit.
func mergeEntries[K any](es []rawEntry[K], more bool, limit int, ks serde.Serde[K], topic string, reverse bool) (entries[rawEntry[K]], error) {
	encs := make(map[int][]byte, len(es))
	idx := make([]int, len(es))
	for i := range es {
		idx[i] = i
		enc, err := ks.Serialize(nil, topic, es[i].Key)
		if err != nil {
			return entries[rawEntry[K]]{}, fmt.Errorf("serialize a key: %w", err)
		}
		encs[i] = enc
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if reverse {
			return bytes.Compare(encs[b], encs[a])
		}
		return bytes.Compare(encs[a], encs[b])
	})
	out := entries[rawEntry[K]]{Entries: make([]rawEntry[K], 0, len(es)), More: more}
	for _, i := range idx {
		if limit > 0 && len(out.Entries) == limit {
			out.More = true
			break
		}
		out.Entries = append(out.Entries, es[i])
	}
	return out, nil
}

// scan answers a scan request: every partition of the store read where it
// runs, merged.
func scan[K any](h *handler, w http.ResponseWriter, r *http.Request, hd *handle, ks serde.Serde[K], reverse bool, local func(parts []int32, limit int) ([]rawEntry[K], bool, error)) {
	limit, err := limitParam(r)
	if err != nil {
		badParameter(w, "limit", err)
		return
	}
	plan, param, err := planScan(r, hd)
	switch {
	case param != "":
		badParameter(w, param, err)
		return
	case err != nil:
		writeQueryError(w, err)
		return
	}
	es, more, err := gather(h, r, plan, limit, func(parts []int32) ([]rawEntry[K], bool, error) { return local(parts, limit) })
	if err != nil {
		writeQueryError(w, err)
		return
	}
	out, err := mergeEntries(es, more, limit, ks, hd.changelog, reverse)
	if err != nil {
		writeQueryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// keyOnly is the conversion of key-value entries: no window.
func keyOnly[K any](k K) (K, *time.Time, *time.Time) { return k, nil, nil }

// windowed is the conversion of windowed entries.
func windowed[K any](w window.Windowed[K]) (K, *time.Time, *time.Time) {
	start, end := w.Window.Start.UTC(), w.Window.End.UTC()
	return w.Key, &start, &end
}

type kvRoute[K, V any] struct {
	s    *KeyValueStore[K, V]
	keys KeyFormat[K]
}

func (rt *kvRoute[K, V]) serve(h *handler, w http.ResponseWriter, r *http.Request, op string) {
	switch op {
	case "get":
		rt.get(h, w, r)
	case "range":
		rt.scan(h, w, r)
	default:
		wrongOp(w, rt.s.Name(), "key-value", op, "get", "range")
	}
}

func (rt *kvRoute[K, V]) get(h *handler, w http.ResponseWriter, r *http.Request) {
	key, ok, err := keyParam(r, rt.keys, "key")
	if !ok {
		if err == nil {
			err = errors.New("missing")
		}
		badParameter(w, "key", err)
		return
	}
	h.keyRoute(w, r, func() (KeyMetadata, error) { return rt.s.KeyMetadata(key) }, func() error {
		v, ok, err := rt.s.Get(r.Context(), key)
		switch {
		case err != nil:
			return err
		case !ok:
			writeError(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("store %q holds no value for key %q", rt.s.Name(), r.URL.Query().Get("key")), Code: "not_found"})
		default:
			writeJSON(w, http.StatusOK, Entry[K, V]{Key: key, Value: v})
		}
		return nil
	})
}

func (rt *kvRoute[K, V]) scan(h *handler, w http.ResponseWriter, r *http.Request) {
	var lo, hi []byte
	for _, p := range []string{"from", "to", "prefix"} {
		key, ok, err := keyParam(r, rt.keys, p)
		if err != nil {
			badParameter(w, p, err)
			return
		}
		if !ok {
			continue
		}
		enc, err := serializeKey(rt.s.h, rt.s.ks, nil, key)
		if err != nil {
			badParameter(w, p, err)
			return
		}
		switch p {
		case "from":
			lo = enc
		case "to":
			hi = append(enc, 0)
		case "prefix":
			if lo != nil || hi != nil {
				badParameter(w, p, errors.New("cannot be combined with from or to"))
				return
			}
			lo, hi = enc, iq.PrefixEnd(enc)
		}
	}
	reverse := false
	if s := r.URL.Query().Get("reverse"); s != "" {
		var err error
		if reverse, err = strconv.ParseBool(s); err != nil {
			badParameter(w, "reverse", fmt.Errorf("%q is not true or false", s))
			return
		}
	}
	scan(h, w, r, rt.s.h, rt.s.ks, reverse, func(parts []int32, limit int) ([]rawEntry[K], bool, error) {
		it, err := rt.s.scan(r.Context(), lo, hi, reverse, parts)
		if err != nil {
			return nil, false, err
		}
		return drain(state.Iterator[K, V](it), limit, keyOnly[K])
	})
}

type windowRoute[K, V any] struct {
	s    *WindowStore[K, V]
	keys KeyFormat[K]
}

func (rt *windowRoute[K, V]) serve(h *handler, w http.ResponseWriter, r *http.Request, op string) {
	if op != "windows" {
		wrongOp(w, rt.s.Name(), "window", op, "windows")
		return
	}
	from, err := timeParam(r, "from", math.MinInt64)
	if err != nil {
		badParameter(w, "from", err)
		return
	}
	to, err := timeParam(r, "to", math.MaxInt64)
	if err != nil {
		badParameter(w, "to", err)
		return
	}
	serveWindowed(h, w, r, rt.s.h, rt.s.ks, rt.keys, rt.s.KeyMetadata, func(key []byte, parts []int32) (*mergeIter[window.Windowed[K], V], error) {
		return rt.s.scan(r.Context(), key, from, to, false, parts)
	})
}

type sessionRoute[K, V any] struct {
	s    *SessionStore[K, V]
	keys KeyFormat[K]
}

func (rt *sessionRoute[K, V]) serve(h *handler, w http.ResponseWriter, r *http.Request, op string) {
	if op != "sessions" {
		wrongOp(w, rt.s.Name(), "session", op, "sessions")
		return
	}
	serveWindowed(h, w, r, rt.s.h, rt.s.ks, rt.keys, rt.s.KeyMetadata, func(key []byte, parts []int32) (*mergeIter[window.Windowed[K], V], error) {
		return rt.s.scan(r.Context(), key, math.MinInt64, math.MaxInt64, parts)
	})
}

// serveWindowed answers a request for windows or sessions: of the key
// parameter's key, where its partition runs, or of every key. open opens
// the iterator of the key encoded as key (every key when nil) over parts.
func serveWindowed[K, V any](h *handler, w http.ResponseWriter, r *http.Request, hd *handle, ks serde.Serde[K], keys KeyFormat[K],
	md func(K) (KeyMetadata, error), open func(key []byte, parts []int32) (*mergeIter[window.Windowed[K], V], error)) {
	limit, err := limitParam(r)
	if err != nil {
		badParameter(w, "limit", err)
		return
	}
	key, ok, err := keyParam(r, keys, "key")
	if err != nil {
		badParameter(w, "key", err)
		return
	}
	read := func(enc []byte, parts []int32, limit int) ([]rawEntry[K], bool, error) {
		it, err := open(enc, parts)
		if err != nil {
			return nil, false, err
		}
		return drain(state.Iterator[window.Windowed[K], V](it), limit, windowed[K])
	}
	if !ok {
		scan(h, w, r, hd, ks, false, func(parts []int32, limit int) ([]rawEntry[K], bool, error) { return read(nil, parts, limit) })
		return
	}
	h.keyRoute(w, r, func() (KeyMetadata, error) { return md(key) }, func() error {
		enc, p, err := keyAt(hd, ks, key)
		if err != nil {
			return err
		}
		es, more, err := read(enc, []int32{p}, limit)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, entries[rawEntry[K]]{Entries: nonNil(es), More: more})
		return nil
	})
}

// nonNil makes an empty list marshal as [] rather than null.
func nonNil[E any](es []E) []E {
	if es == nil {
		return []E{}
	}
	return es
}
