// Package canonical builds the byte strings that validators sign.
//
// Every signed message in bftkit is encoded here, never with protobuf: proto
// encodings are not guaranteed to be unique, and two different encodings of
// one vote would let a relay change the bytes without changing the meaning.
// The encoding is injective by construction: variable-length fields carry a
// fixed-width length prefix, integers are fixed-width big-endian, and every
// string starts with a domain tag so that a signature for one kind of message
// can never be replayed as another kind.
package canonical

import (
	"encoding/binary"
	"fmt"
	"math"
)

// MaxFieldBytes is the longest field the 4-byte length prefix can describe.
// No field of a decodable message comes near it (messages are bounded far
// lower), so hashing an unvalidated block can never reach the panic below.
const MaxFieldBytes = math.MaxUint32

// Encoder appends fields to a canonical byte string. The zero value is not
// usable: start with New, which writes the domain tag and the chain ID first.
type Encoder struct {
	buf []byte
}

// New starts a sign-bytes string with its domain tag and chain ID. Both are
// length-prefixed, so ("ab", "c") and ("a", "bc") encode differently.
func New(domain, chainID string) *Encoder {
	e := &Encoder{buf: make([]byte, 0, 64+len(domain)+len(chainID))}
	return e.String(domain).String(chainID)
}

// Uint64 appends v as 8 bytes, big-endian.
func (e *Encoder) Uint64(v uint64) *Encoder {
	e.buf = binary.BigEndian.AppendUint64(e.buf, v)
	return e
}

// Uint32 appends v as 4 bytes, big-endian.
func (e *Encoder) Uint32(v uint32) *Encoder {
	e.buf = binary.BigEndian.AppendUint32(e.buf, v)
	return e
}

// Fixed appends b with no length prefix. Use it only for fields whose length
// is fixed by their type (a 32-byte hash), never for caller-sized data.
func (e *Encoder) Fixed(b []byte) *Encoder {
	e.buf = append(e.buf, b...)
	return e
}

// Bytes appends b with a 4-byte length prefix.
func (e *Encoder) Bytes(b []byte) *Encoder {
	if uint64(len(b)) > MaxFieldBytes {
		panic(fmt.Sprintf("canonical: field of %d bytes exceeds %d", len(b), MaxFieldBytes))
	}
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(len(b)))
	e.buf = append(e.buf, b...)
	return e
}

// String appends s with a 4-byte length prefix.
func (e *Encoder) String(s string) *Encoder {
	return e.Bytes([]byte(s))
}

// Sum returns the encoded bytes. The encoder must not be used afterwards.
func (e *Encoder) Sum() []byte {
	return e.buf
}
