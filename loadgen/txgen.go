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
// ok is false for anybody else's. Only the exact form appendTx writes is
// accepted (lowercase base 36 without leading zeros, then a value of
// 'v's): ParseUint alone would also take "00z" or "Z", so a foreign
// transaction that merely looks alike could be counted as a commit of
// this run's transaction z, with a made-up latency.
func (c txCodec) seq(tx []byte) (uint64, bool) {
	if len(tx) != c.size || !bytes.HasPrefix(tx, c.prefix) {
		return 0, false
	}
	rest := tx[len(c.prefix):]
	eq := bytes.IndexByte(rest, '=')
	if eq <= 0 {
		return 0, false
	}
	digits, value := rest[:eq], rest[eq+1:]
	for _, b := range value {
		if b != 'v' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(digits), 36, 64)
	if err != nil {
		return 0, false
	}
	var buf [16]byte // a uint64 has at most 13 base-36 digits
	if !bytes.Equal(strconv.AppendUint(buf[:0], n, 36), digits) {
		return 0, false
	}
	return n, true
}
