package types

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBitmapSetHasIndices(t *testing.T) {
	b := NewBitmap(10)
	require.Len(t, b, 2)
	for _, i := range []ValidatorIndex{0, 3, 8, 9} {
		b.Set(i)
	}
	require.Equal(t, 4, b.Count())
	require.Equal(t, []ValidatorIndex{0, 3, 8, 9}, b.Indices())
	require.True(t, b.Has(8))
	require.False(t, b.Has(1))
	require.False(t, b.Has(100), "beyond the bitmap is never marked")
	b.Set(3)
	require.Equal(t, 4, b.Count(), "setting twice counts once")
}

func TestBitmapValidateFor(t *testing.T) {
	require.NoError(t, NewBitmap(4).ValidateFor(4))
	require.NoError(t, NewBitmap(16).ValidateFor(16))
	require.ErrorIs(t, NewBitmap(4).ValidateFor(9), ErrBitmapLength)
	require.ErrorIs(t, Bitmap{0, 0}.ValidateFor(4), ErrBitmapLength)
	require.ErrorIs(t, Bitmap{0b0001_0000}.ValidateFor(4), ErrBitmapNonMember, "bit 4 of a 4-member set")
	require.NoError(t, Bitmap{0b0000_1111}.ValidateFor(4))
	require.NoError(t, Bitmap{0xff}.ValidateFor(8), "a full byte set has no spare bits")
}
