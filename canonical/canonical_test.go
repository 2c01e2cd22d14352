package canonical

import (
	"bytes"
	"testing"
)

// The encoding must be injective: shifting bytes between adjacent fields must
// change the output, or a signature over one message would cover another.
func TestLengthPrefixesKeepFieldBoundaries(t *testing.T) {
	a := New("ab", "c").Sum()
	b := New("a", "bc").Sum()
	if bytes.Equal(a, b) {
		t.Fatalf("(ab, c) and (a, bc) encode the same: %x", a)
	}
	x := New("d", "chain").Bytes([]byte("xy")).Bytes([]byte("z")).Sum()
	y := New("d", "chain").Bytes([]byte("x")).Bytes([]byte("yz")).Sum()
	if bytes.Equal(x, y) {
		t.Fatalf("byte fields leak across boundaries: %x", x)
	}
}

func TestDomainAndChainAreBound(t *testing.T) {
	base := New("vote", "chain-a").Uint64(7).Sum()
	for name, other := range map[string][]byte{
		"other domain": New("timeout", "chain-a").Uint64(7).Sum(),
		"other chain":  New("vote", "chain-b").Uint64(7).Sum(),
		"other field":  New("vote", "chain-a").Uint64(8).Sum(),
	} {
		if bytes.Equal(base, other) {
			t.Errorf("%s encodes like the base message", name)
		}
	}
}

func TestIntegersAreFixedWidthBigEndian(t *testing.T) {
	got := New("", "").Uint64(0x0102030405060708).Uint32(0x0a0b0c0d).Sum()
	want := []byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
}
