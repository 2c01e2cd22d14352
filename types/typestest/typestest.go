// Package typestest builds deterministic validator sets and signed messages
// for tests, fuzz targets, benchmarks and the simulator. Keys derive from a
// public seed: never use them outside tests.
package typestest

import (
	"fmt"
	"sync"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
)

// ChainID is the chain every fixture signs for.
const ChainID = "bftkit-test"

// Fixture is a validator set with its secret keys.
type Fixture struct {
	Keys []*crypto.SecretKey
	Set  *types.ValidatorSet
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[[2]int]*Fixture{}
)

// Validators returns the n-validator fixture for seed. Fixtures are cached:
// building one verifies n proofs of possession (about 1.7 ms each).
func Validators(n, seed int) *Fixture {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f, ok := fixtures[[2]int{n, seed}]; ok {
		return f
	}
	f := &Fixture{Keys: make([]*crypto.SecretKey, n)}
	vals := make([]types.Validator, n)
	for i := range n {
		sk := crypto.DeterministicKey(fmt.Appendf(nil, "fixture-%d", seed), uint32(i))
		f.Keys[i] = sk
		vals[i] = types.Validator{Index: types.ValidatorIndex(i), PubKey: sk.PublicKey(), PoP: crypto.ProvePossession(sk)}
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		panic(fmt.Sprintf("typestest: fixture n=%d: %v", n, err))
	}
	f.Set = vs
	fixtures[[2]int{n, seed}] = f
	return f
}

// Bitmap marks the given validators in a bitmap for the fixture's set.
func (f *Fixture) Bitmap(signers ...int) types.Bitmap {
	b := types.NewBitmap(f.Set.N())
	for _, i := range signers {
		b.Set(types.ValidatorIndex(i))
	}
	return b
}

// First returns the indices 0..k-1.
func First(k int) []int {
	out := make([]int, k)
	for i := range out {
		out[i] = i
	}
	return out
}

// Sign signs msg with each listed validator's key and aggregates the result.
func (f *Fixture) Sign(msg []byte, signers ...int) crypto.Signature {
	sigs := make([]crypto.Signature, len(signers))
	for k, i := range signers {
		sigs[k] = crypto.Sign(f.Keys[i], msg)
	}
	agg, ok := crypto.AggregateSignatures(sigs)
	if !ok {
		panic("typestest: Sign with no signers")
	}
	return agg
}

// QC is an honest QC for (view, id) signed by the listed validators.
func (f *Fixture) QC(view uint64, id types.BlockID, signers ...int) *types.QuorumCert {
	sig := f.Sign(types.VoteSignBytes(ChainID, view, id), signers...)
	return &types.QuorumCert{View: view, BlockID: id, Signers: f.Bitmap(signers...), Signature: sig.Bytes()}
}

// TC is an honest TC for view; signer signers[k] reports highQCViews[k].
// signers must be in increasing order, as in the bitmap.
func (f *Fixture) TC(view uint64, signers []int, highQCViews []uint64) *types.TimeoutCert {
	sigs := make([]crypto.Signature, len(signers))
	for k, i := range signers {
		sigs[k] = crypto.Sign(f.Keys[i], types.TimeoutSignBytes(ChainID, view, highQCViews[k]))
	}
	agg, _ := crypto.AggregateSignatures(sigs)
	return &types.TimeoutCert{View: view, Signers: f.Bitmap(signers...), HighQcViews: append([]uint64(nil), highQCViews...), Signature: agg.Bytes()}
}

// PBFTCert is an honest PBFT certificate signed individually by signers.
func (f *Fixture) PBFTCert(phase types.PBFTPhase, view, seq uint64, digest types.BlockID, signers ...int) *types.PBFTCert {
	c := &types.PBFTCert{Phase: phase, View: view, Seq: seq, Digest: digest}
	msg := types.PBFTVoteSignBytes(ChainID, phase, view, seq, digest)
	for _, i := range signers {
		c.Signers = append(c.Signers, types.ValidatorIndex(i))
		c.Signatures = append(c.Signatures, crypto.Sign(f.Keys[i], msg).Bytes())
	}
	return c
}

// Block returns a block at height with ntx transactions of txSize bytes.
func Block(height uint64, ntx, txSize int) *types.Block {
	b := &types.Block{Height: height, View: height, Proposer: types.ValidatorIndex(height % 4)}
	for i := range ntx {
		tx := make(types.Tx, txSize)
		for j := range tx {
			tx[j] = byte(i + j)
		}
		copy(tx, fmt.Sprintf("k%d=", i))
		b.Txs = append(b.Txs, tx)
	}
	return b
}
