package types

import (
	"errors"
	"fmt"
	"math/bits"
)

// Bitmap records which validators signed a certificate: bit i (bit i%8 of
// byte i/8) stands for validator i. A bitmap can name a validator only once,
// so a certificate carrying one cannot count a signer twice.
type Bitmap []byte

// ErrBitmapLength means a bitmap's length does not match the validator set.
var ErrBitmapLength = errors.New("signer bitmap length does not match the validator set")

// ErrBitmapNonMember means a bitmap names an index outside the validator set.
var ErrBitmapNonMember = errors.New("signer bitmap names a validator outside the set")

// NewBitmap returns an empty bitmap for n validators.
func NewBitmap(n int) Bitmap { return make(Bitmap, (n+7)/8) }

// Set marks validator i. i must be below the bitmap's capacity.
func (b Bitmap) Set(i ValidatorIndex) { b[i/8] |= 1 << (i % 8) }

// Has reports whether validator i is marked; indexes beyond the bitmap are not.
func (b Bitmap) Has(i ValidatorIndex) bool {
	if int(i/8) >= len(b) {
		return false
	}
	return b[i/8]&(1<<(i%8)) != 0
}

// Count is the number of marked validators.
func (b Bitmap) Count() int {
	c := 0
	for _, x := range b {
		c += bits.OnesCount8(x)
	}
	return c
}

// Indices lists the marked validators in increasing order.
func (b Bitmap) Indices() []ValidatorIndex {
	out := make([]ValidatorIndex, 0, b.Count())
	for byteIdx, x := range b {
		for x != 0 {
			bit := bits.TrailingZeros8(x)
			out = append(out, ValidatorIndex(byteIdx*8+bit))
			x &^= 1 << bit
		}
	}
	return out
}

// ValidateFor checks that b is a bitmap for a set of n validators: exactly
// ceil(n/8) bytes and no bit at index n or above.
func (b Bitmap) ValidateFor(n int) error {
	if len(b) != (n+7)/8 {
		return fmt.Errorf("%w: %d bytes for %d validators", ErrBitmapLength, len(b), n)
	}
	if n%8 != 0 && len(b) > 0 {
		if spare := b[len(b)-1] >> (n % 8); spare != 0 {
			return ErrBitmapNonMember
		}
	}
	return nil
}
