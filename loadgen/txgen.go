package loadgen

import (
	"bytes"
	"strconv"
)

// txCodec makes and recognises this run's transactions: "PREFIX-SEQ=vvv…"
// padded to exactly size bytes, SEQ in base 36. The sequence number makes
// every transaction unique and maps a committed one back to its submit
// time without keeping the transactions themselves.
type txCodec struct {
	prefix []byte // KeyPrefix + "-"
	size   int
}

func newTxCodec(keyPrefix string, size int) txCodec {
	return txCodec{prefix: []byte(keyPrefix + "-"), size: size}
}

// appendTx appends transaction seq to dst. Validate guarantees the key
// fits with at least one value byte.
func (c txCodec) appendTx(dst []byte, seq uint64) []byte {
	start := len(dst)
	dst = append(dst, c.prefix...)
	dst = strconv.AppendUint(dst, seq, 36)
	dst = append(dst, '=')
	for len(dst)-start < c.size {
		dst = append(dst, 'v')
	}
	return dst
}

// batch returns n consecutive transactions from first, sharing one
// backing array (one allocation per batch, not per transaction).
func (c txCodec) batch(first uint64, n int) [][]byte {
	buf := make([]byte, 0, n*c.size)
	txs := make([][]byte, n)
	for i := range txs {
		off := len(buf)
		buf = c.appendTx(buf, first+uint64(i))
		txs[i] = buf[off:len(buf):len(buf)]
	}
	return txs
}

// seq returns the sequence number of one of this run's transactions;
// ok is false for anybody else's.
func (c txCodec) seq(tx []byte) (uint64, bool) {
	if len(tx) != c.size || !bytes.HasPrefix(tx, c.prefix) {
		return 0, false
	}
	rest := tx[len(c.prefix):]
	eq := bytes.IndexByte(rest, '=')
	if eq <= 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(rest[:eq]), 36, 64)
	return n, err == nil
}
