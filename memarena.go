package oidcmw

import "time"

// The MemoryStore's storage: an index without pointers (table) over byte
// chunks (arena), so that the garbage collector marks a few chunks instead
// of one object per entry.

const (
	chunkSize = 1 << 20       // bytes per shared chunk
	ownChunk  = chunkSize / 4 // values at least this long get a chunk of their own
	noChunk   = ^uint32(0)    // the chunk of an empty value
	maxMemKey = 63            // longest key held inside the index
)

// entry locates a value: n bytes at off in chunk, until expires (Unix
// nanoseconds). The zero entry means "none".
type entry struct {
	chunk   uint32
	off     uint32
	n       uint32
	expires int64
}

func (e entry) live(now time.Time) bool { return now.UnixNano() < e.expires }

// arena holds values in chunks that are only ever appended to: a slice
// handed out stays valid and unchanged after its entry is gone. live counts
// the bytes of each chunk still referenced by an entry; a chunk nothing
// references is released to the collector (its readers keep it alive).
type arena struct {
	chunks []chunk
	free   []uint32 // released chunk numbers, for reuse
	cur    uint32   // the chunk being filled, noChunk if none
}

type chunk struct {
	buf  []byte
	live int
}

func (a *arena) put(v []byte, expires int64) entry {
	if len(v) == 0 {
		return entry{chunk: noChunk, expires: expires}
	}
	var c uint32
	switch {
	case len(v) >= ownChunk:
		c = a.newChunk(len(v))
	case a.cur == noChunk || len(a.chunks[a.cur].buf)+len(v) > cap(a.chunks[a.cur].buf):
		if a.cur != noChunk && a.chunks[a.cur].live == 0 {
			a.release(a.cur)
		}
		a.cur = a.newChunk(chunkSize)
		c = a.cur
	default:
		c = a.cur
	}
	ch := &a.chunks[c]
	off := len(ch.buf)
	ch.buf = append(ch.buf, v...)
	ch.live += len(v)
	return entry{chunk: c, off: uint32(off), n: uint32(len(v)), expires: expires}
}

func (a *arena) newChunk(size int) uint32 {
	buf := make([]byte, 0, size)
	if n := len(a.free); n > 0 {
		c := a.free[n-1]
		a.free = a.free[:n-1]
		a.chunks[c] = chunk{buf: buf}
		return c
	}
	a.chunks = append(a.chunks, chunk{buf: buf})
	return uint32(len(a.chunks) - 1)
}

// bytes returns e's value, capped so that an append copies it.
func (a *arena) bytes(e entry) []byte {
	if e.chunk == noChunk {
		return []byte{}
	}
	end := e.off + e.n
	return a.chunks[e.chunk].buf[e.off:end:end]
}

// drop records that e no longer references its bytes.
func (a *arena) drop(e entry) {
	if e.chunk == noChunk || e == (entry{}) {
		return
	}
	ch := &a.chunks[e.chunk]
	ch.live -= int(e.n)
	if ch.live == 0 && e.chunk != a.cur {
		a.release(e.chunk)
	}
}

func (a *arena) release(c uint32) {
	a.chunks[c] = chunk{}
	a.free = append(a.free, c)
}

// sparse reports the chunks, other than the one being filled, of which
// less than half is still referenced.
func (a *arena) sparse() map[uint32]bool {
	out := make(map[uint32]bool)
	for i, ch := range a.chunks {
		if uint32(i) != a.cur && ch.buf != nil && ch.live*2 < len(ch.buf) {
			out[uint32(i)] = true
		}
	}
	return out
}

// table maps keys to entries: keys of up to maxMemKey bytes inside the map,
// longer ones in a map keyed by string.
type table struct {
	short map[memKey]entry
	long  map[string]entry
}

type memKey struct {
	n uint8
	b [maxMemKey]byte
}

func newTable() table {
	return table{short: make(map[memKey]entry), long: make(map[string]entry)}
}

func shortKey(key string) (k memKey, ok bool) {
	if len(key) > maxMemKey {
		return k, false
	}
	k.n = uint8(len(key))
	copy(k.b[:], key)
	return k, true
}

func (t *table) get(key string) (entry, bool) {
	if k, ok := shortKey(key); ok {
		e, found := t.short[k]
		return e, found
	}
	e, found := t.long[key]
	return e, found
}

func (t *table) set(key string, e entry) {
	if k, ok := shortKey(key); ok {
		t.short[k] = e
		return
	}
	t.long[key] = e
}

func (t *table) del(key string) {
	if k, ok := shortKey(key); ok {
		delete(t.short, k)
		return
	}
	delete(t.long, key)
}

func (t *table) len() int { return len(t.short) + len(t.long) }

// each calls f for every entry, replacing it with f's result, or deleting
// it when f reports false.
func (t *table) each(f func(entry) (entry, bool)) {
	for k, e := range t.short {
		if ne, keep := f(e); !keep {
			delete(t.short, k)
		} else if ne != e {
			t.short[k] = ne
		}
	}
	for k, e := range t.long {
		if ne, keep := f(e); !keep {
			delete(t.long, k)
		} else if ne != e {
			t.long[k] = ne
		}
	}
}
