package app

import (
	"bytes"
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// Result codes of the kvstore. They are part of the app's observable
// behaviour (clients and the TxResults of every replica carry them), so
// they are fixed numbers, never reordered.
const (
	// CodeBadFormat rejects a transaction without '=' (it is not key=value).
	CodeBadFormat uint32 = 1
	// CodeEmptyKey rejects a transaction or query with an empty key.
	CodeEmptyKey uint32 = 2
	// CodeKeyTooLong rejects a key longer than MaxKeyBytes.
	CodeKeyTooLong uint32 = 3
	// CodeTxTooLarge rejects a transaction longer than MaxTxBytes.
	CodeTxTooLarge uint32 = 4
	// CodeNotFound answers a query for a key that has no committed value.
	CodeNotFound uint32 = 5
	// CodeUnknownPath answers a query on a path other than "" or "/key".
	CodeUnknownPath uint32 = 6
)

const (
	// MaxKeyBytes bounds a key, so that keys stay cheap to index and to
	// log, whatever a client sends.
	MaxKeyBytes = 256
	// MaxTxBytes bounds a whole key=value transaction. It is the
	// consensus-wide limit, so that every transaction the mempool accepts
	// also fits in a block.
	MaxTxBytes = types.MaxTxBytes
)

// parseTx splits tx at its first '=' into key and value. A malformed tx
// gets a non-zero code and a log saying exactly what is wrong; the log
// never echoes the tx, which may be large or binary. key and value alias
// tx.
func parseTx(tx []byte) (key, value []byte, code uint32, log string) {
	if len(tx) > MaxTxBytes {
		return nil, nil, CodeTxTooLarge, fmt.Sprintf("tx is %d bytes, max %d", len(tx), MaxTxBytes)
	}
	i := bytes.IndexByte(tx, '=')
	if i < 0 {
		return nil, nil, CodeBadFormat, "tx has no '=': want key=value"
	}
	key, value = tx[:i], tx[i+1:]
	if code, log := checkKey(key); code != CodeOK {
		return nil, nil, code, log
	}
	return key, value, CodeOK, ""
}

// checkKey applies the key rules shared by transactions, genesis and
// queries.
func checkKey(key []byte) (code uint32, log string) {
	switch {
	case len(key) == 0:
		return CodeEmptyKey, "empty key: want key=value with a non-empty key"
	case len(key) > MaxKeyBytes:
		return CodeKeyTooLong, fmt.Sprintf("key is %d bytes, max %d", len(key), MaxKeyBytes)
	}
	return CodeOK, ""
}
