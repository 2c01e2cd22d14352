package types_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

// The seed corpora in testdata/fuzz are written by
// `go run ./internal/tools/fuzzcorpus`; the f.Add seeds below cover the same
// ground so that a target still has good inputs without them.

// fuzzSeedMessages is one well-formed message of every type (and of every
// PBFT phase), signed by the 4-validator fixture.
func fuzzSeedMessages() []types.Message {
	var out []types.Message
	for _, s := range typestest.SampleMessages() {
		out = append(out, s.Message)
	}
	return out
}

// fuzzPayloadEqual compares payloads with their generated Equal methods.
func fuzzPayloadEqual(a, b types.Payload) bool {
	eq, ok := a.(interface{ Equal(any) bool })
	return ok && eq.Equal(b)
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range fuzzSeedMessages() {
		data, err := types.EncodeMessage(m)
		require.NoError(f, err)
		f.Add(data)
		f.Add(data[:len(data)/2]) // truncated
		spoofed := m
		spoofed.From = m.From + 1
		if data, err := types.EncodeMessage(spoofed); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	unknown, err := (&types.Envelope{From: 1, Type: 99, Payload: []byte{0x08, 0x01}}).Marshal()
	require.NoError(f, err)
	f.Add(unknown)
	shortSig, err := types.EncodeMessage(types.Message{From: 1, Payload: &types.Vote{View: 1, BlockID: types.BlockID{1}, Voter: 1, Signature: []byte{1, 2, 3}}})
	require.NoError(f, err)
	f.Add(shortSig)

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := types.DecodeMessage(data)
		if err != nil {
			return
		}
		require.NotNil(t, m.Payload)
		require.Equal(t, m.Payload.Signer(), m.From)
		require.NoError(t, m.Payload.ValidateBasic())

		enc, err := types.EncodeMessage(m)
		require.NoError(t, err, "a decoded message must re-encode")
		m2, err := types.DecodeMessage(enc)
		require.NoError(t, err, "a re-encoded message must decode")
		require.Equal(t, m.From, m2.From)
		require.Equal(t, m.To, m2.To)
		require.Equal(t, m.Broadcast, m2.Broadcast)
		require.Equal(t, m.Payload.MsgType(), m2.Payload.MsgType())
		require.True(t, fuzzPayloadEqual(m.Payload, m2.Payload), "payload changed in a round trip:\n%v\n%v", m.Payload, m2.Payload)
		// Encoding is deterministic, so a second round trip is byte-stable.
		enc2, err := types.EncodeMessage(m2)
		require.NoError(t, err)
		require.Equal(t, enc, enc2)
	})
}

func FuzzBlockUnmarshal(f *testing.F) {
	for _, m := range fuzzSeedMessages() {
		var b *types.Block
		switch p := m.Payload.(type) {
		case *types.Proposal:
			b = p.Block
		case *types.PBFTPrePrepare:
			b = p.Block
		default:
			continue
		}
		data, err := b.Marshal()
		require.NoError(f, err)
		f.Add(data)
		f.Add(data[:len(data)-1])
	}
	empty, err := (&types.Block{Height: 1, View: 1}).Marshal()
	require.NoError(f, err)
	f.Add(empty)
	f.Add([]byte{})
	f.Add([]byte{0x1a, 0x01, 0x00}) // parent_id of 1 byte
	f.Add([]byte{0x32, 0x00})       // an empty tx

	f.Fuzz(func(t *testing.T, data []byte) {
		var b types.Block
		if err := b.Unmarshal(data); err != nil {
			return
		}
		_ = b.ValidateBasic()
		id := b.ID()
		require.Equal(t, id, b.ID(), "ID is not deterministic")

		// Whatever decodes re-encodes to a block with the same fields and ID.
		enc, err := b.Marshal()
		require.NoError(t, err)
		var b2 types.Block
		require.NoError(t, b2.Unmarshal(enc))
		require.True(t, b.Equal(&b2), "block changed in a round trip")
		require.Equal(t, id, b2.ID())
	})
}

func FuzzParseGenesis(f *testing.F) {
	good := typestest.SampleGenesisJSON(4, `{"accounts":{"alice":10}}`)
	f.Add(good)
	f.Add(typestest.SampleGenesisJSON(1, ""))
	f.Add([]byte{})
	f.Add([]byte("{}"))
	f.Add([]byte(`{"chain_id":"x","validators":[]}`))
	f.Add(good[:len(good)/2])
	f.Add(append(bytes.Clone(good), []byte(" {}")...))
	f.Add(bytes.Replace(good, []byte(`"chain_id"`), []byte(`"chainid"`), 1))
	f.Add(bytes.Replace(good, []byte(typestest.ChainID), []byte("bad chain id"), 1))
	f.Add(bytes.Replace(good, []byte(`"app_state": {`), []byte(`"app_state": {{`), 1))

	f.Fuzz(func(t *testing.T, data []byte) {
		g, vs, err := types.ParseGenesis(data)
		if err != nil {
			return
		}
		require.NotNil(t, g)
		require.NotNil(t, vs)
		require.Equal(t, len(g.Validators), vs.N())
		require.NotEmpty(t, g.ChainID)
		require.LessOrEqual(t, len(g.ChainID), types.MaxChainIDLen)
		for i, gv := range g.Validators {
			v := vs.Validator(types.ValidatorIndex(i))
			require.Equal(t, types.ValidatorIndex(i), v.Index)
			require.True(t, crypto.VerifyPossession(v.PubKey, v.PoP))
			require.Equal(t, gv.PeerID, v.PeerID)
			require.Equal(t, gv.Address, v.Address)
		}
	})
}

func FuzzBitmap(f *testing.F) {
	fx := typestest.Validators(4, 1)
	f.Add([]byte(fx.Bitmap(0, 1, 2)), 4)
	f.Add([]byte(fx.Bitmap(0, 1, 2, 3)), 4)
	f.Add([]byte{0x10}, 4) // bit 4 in a set of 4
	f.Add([]byte{0xff, 0x01}, 9)
	f.Add([]byte{0xff, 0x03}, 9)
	f.Add([]byte{0xff, 0xff}, 16)
	f.Add([]byte{}, 0)
	f.Add([]byte{0x01}, 0)
	f.Add([]byte{0x01}, -1)
	f.Add([]byte{0x80, 0x00, 0x01}, 17)

	f.Fuzz(func(t *testing.T, data []byte, n int) {
		b := types.Bitmap(data)
		idx := b.Indices()
		require.Equal(t, b.Count(), len(idx))
		rebuilt := types.NewBitmap(8 * len(b))
		for k, i := range idx {
			require.Less(t, int(i), 8*len(b))
			if k > 0 {
				require.Less(t, idx[k-1], i, "indices not strictly increasing")
			}
			require.True(t, b.Has(i))
			rebuilt.Set(i)
		}
		require.Equal(t, []byte(b), []byte(rebuilt), "indices do not describe the bitmap")
		require.False(t, b.Has(types.ValidatorIndex(8*len(b))))

		err := b.ValidateFor(n)
		if n < 0 || n > 1<<20 {
			return // only "no panic" for sizes no set can have
		}
		fits := len(b) == (n+7)/8
		for _, i := range idx {
			if int(i) >= n {
				fits = false
			}
		}
		if fits {
			require.NoError(t, err)
		} else {
			require.Error(t, err)
		}
	})
}
