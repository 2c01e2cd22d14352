package crypto

import (
	"container/list"
	"sync"
)

// AggKeyCache remembers aggregated public keys by signer bitmap. In steady
// state nearly every QC of a view has the same signers, so verifying a QC
// costs one pairing check instead of n point additions plus the check.
//
// It is safe for concurrent use (the node verifies on several cores) and
// holds at most a fixed number of entries, evicting the least recently used.
// Keys are the raw bitmap bytes: callers must use one cache per validator
// set, since the same bitmap means different keys in another set.
type AggKeyCache struct {
	mu      sync.Mutex
	max     int
	order   *list.List // front = most recently used; values are *aggEntry
	entries map[string]*list.Element
}

type aggEntry struct {
	bitmap string
	key    PublicKey
}

// NewAggKeyCache returns a cache of at most maxEntries aggregated keys.
func NewAggKeyCache(maxEntries int) *AggKeyCache {
	if maxEntries < 1 {
		maxEntries = 1
	}
	return &AggKeyCache{max: maxEntries, order: list.New(), entries: make(map[string]*list.Element)}
}

// Get returns the aggregate of the keys named by bitmap, calling keys to list
// them on a miss. keys is called without the lock held.
func (c *AggKeyCache) Get(bitmap []byte, keys func() []PublicKey) (PublicKey, bool) {
	id := string(bitmap)
	c.mu.Lock()
	if el, ok := c.entries[id]; ok {
		c.order.MoveToFront(el)
		key := el.Value.(*aggEntry).key
		c.mu.Unlock()
		return key, true
	}
	c.mu.Unlock()

	agg, ok := AggregatePublicKeys(keys())
	if !ok {
		return PublicKey{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[id]; !ok {
		c.entries[id] = c.order.PushFront(&aggEntry{bitmap: id, key: agg})
		for c.order.Len() > c.max {
			oldest := c.order.Back()
			c.order.Remove(oldest)
			delete(c.entries, oldest.Value.(*aggEntry).bitmap)
		}
	}
	return agg, true
}

// Len is the number of cached aggregates.
func (c *AggKeyCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
