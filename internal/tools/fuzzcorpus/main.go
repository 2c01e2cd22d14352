// Command fuzzcorpus rewrites the committed seed corpora of the fuzz targets
// in crypto, types and qc (their testdata/fuzz/FuzzXxx directories) from the
// typestest fixtures. Run it from anywhere inside the module:
//
//	go run ./internal/tools/fuzzcorpus
//
// Output is deterministic: keys derive from fixed seeds and BLS signing is
// deterministic, so a rerun changes nothing unless the fixtures or the wire
// format changed. The tool owns the files named seed-*; it deletes stale ones
// and leaves every other file alone, so inputs the fuzzer found (named by
// hash) stay as regression tests.
//
// The honest certificates written for qc's targets must match the lists in
// qc/fuzz_test.go (fuzzHonestQCs and friends): those targets fail on a
// certificate that verifies without being one of them.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

const modulePath = "github.com/bftkit/bftkit"

// seedPrefix marks the files this tool owns.
const seedPrefix = "seed-"

func main() {
	log.SetFlags(0)
	log.SetPrefix("fuzzcorpus: ")
	rootFlag := flag.String("root", "", "module root (default: the enclosing module of the working directory)")
	flag.Parse()
	root := *rootFlag
	if root == "" {
		var err error
		if root, err = findModuleRoot(); err != nil {
			log.Fatal(err)
		}
	}
	c := &corpus{files: map[string]map[string][]byte{}}
	cryptoCorpora(c)
	typesCorpora(c)
	qcCorpora(c)
	if err := c.write(root); err != nil {
		log.Fatal(err)
	}
}

// findModuleRoot walks up from the working directory to bftkit's go.mod.
func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the " + modulePath + " module (use -root)")
		}
		dir = parent
	}
}

// corpus collects files by directory (relative to the module root) and name.
type corpus struct {
	files map[string]map[string][]byte
}

// add records one corpus entry for pkg's target. vals are the fuzz
// function's arguments after *testing.T.
func (c *corpus) add(pkg, target, name string, vals ...any) {
	dir := filepath.Join(pkg, "testdata", "fuzz", target)
	if c.files[dir] == nil {
		c.files[dir] = map[string][]byte{}
	}
	name = seedPrefix + name
	if _, dup := c.files[dir][name]; dup {
		panic(fmt.Sprintf("fuzzcorpus: duplicate entry %s/%s", dir, name))
	}
	c.files[dir][name] = encode(vals...)
}

// encode writes Go's corpus file format (internal/fuzz/encoding.go).
func encode(vals ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", v)
		default:
			panic(fmt.Sprintf("fuzzcorpus: unsupported corpus value %T", v))
		}
	}
	return b.Bytes()
}

func (c *corpus) write(root string) error {
	dirs := make([]string, 0, len(c.files))
	for dir := range c.files {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		abs := filepath.Join(root, dir)
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return err
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			return err
		}
		removed := 0
		for _, e := range entries {
			if _, keep := c.files[dir][e.Name()]; !keep && strings.HasPrefix(e.Name(), seedPrefix) {
				if err := os.Remove(filepath.Join(abs, e.Name())); err != nil {
					return err
				}
				removed++
			}
		}
		for name, data := range c.files[dir] {
			if err := os.WriteFile(filepath.Join(abs, name), data, 0o644); err != nil {
				return err
			}
		}
		fmt.Printf("%s: %d seeds", dir, len(c.files[dir]))
		if removed > 0 {
			fmt.Printf(", %d stale removed", removed)
		}
		fmt.Println()
	}
	return nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func marshal(m interface{ Marshal() ([]byte, error) }) []byte { return must(m.Marshal()) }

// infinitySig is the compressed identity signature.
func infinitySig() []byte {
	b := make([]byte, crypto.SignatureSize)
	b[0] = 0xc0
	return b
}

// ---- crypto ----------------------------------------------------------------

func cryptoKey(i uint32) *crypto.SecretKey {
	return crypto.DeterministicKey([]byte("crypto-fuzz"), i) // as crypto/fuzz_test.go
}

// keyFileJSON is the key file SaveKeyFile writes for sk.
func keyFileJSON(sk *crypto.SecretKey) []byte {
	dir := must(os.MkdirTemp("", "fuzzcorpus-"))
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "key.json")
	if err := crypto.SaveKeyFile(path, sk); err != nil {
		panic(err)
	}
	return must(os.ReadFile(path))
}

func cryptoCorpora(c *corpus) {
	const pkg = "crypto"

	// FuzzPublicKeyFromBytes
	for i := range uint32(3) {
		c.add(pkg, "FuzzPublicKeyFromBytes", fmt.Sprintf("valid-%d", i), cryptoKey(i).PublicKey().Bytes())
	}
	pk := cryptoKey(0).PublicKey().Bytes()
	c.add(pkg, "FuzzPublicKeyFromBytes", "empty", []byte{})
	c.add(pkg, "FuzzPublicKeyFromBytes", "short", pk[:crypto.PublicKeySize-1])
	c.add(pkg, "FuzzPublicKeyFromBytes", "long", append(slices.Clone(pk), 0))
	c.add(pkg, "FuzzPublicKeyFromBytes", "uncompressed-flag", make([]byte, crypto.PublicKeySize))
	inf := make([]byte, crypto.PublicKeySize)
	inf[0] = 0xc0
	c.add(pkg, "FuzzPublicKeyFromBytes", "infinity", inf)
	c.add(pkg, "FuzzPublicKeyFromBytes", "all-ff", bytes.Repeat([]byte{0xff}, crypto.PublicKeySize))
	flipped := slices.Clone(pk)
	flipped[0] ^= 0x20
	c.add(pkg, "FuzzPublicKeyFromBytes", "other-y", flipped)

	// FuzzSignatureFromBytes: over the message of crypto/fuzz_test.go.
	msg := []byte("bftkit crypto fuzz message")
	sig := crypto.Sign(cryptoKey(0), msg).Bytes()
	c.add(pkg, "FuzzSignatureFromBytes", "valid", sig)
	c.add(pkg, "FuzzSignatureFromBytes", "valid-other-key", crypto.Sign(cryptoKey(1), msg).Bytes())
	c.add(pkg, "FuzzSignatureFromBytes", "valid-pop", crypto.ProvePossession(cryptoKey(0)).Bytes())
	c.add(pkg, "FuzzSignatureFromBytes", "empty", []byte{})
	c.add(pkg, "FuzzSignatureFromBytes", "short", sig[:crypto.SignatureSize-1])
	c.add(pkg, "FuzzSignatureFromBytes", "long", append(slices.Clone(sig), 0))
	c.add(pkg, "FuzzSignatureFromBytes", "uncompressed-flag", make([]byte, crypto.SignatureSize))
	c.add(pkg, "FuzzSignatureFromBytes", "infinity", infinitySig())
	// herumi accepts the identity with any last byte (reported issue).
	infTail := infinitySig()
	infTail[crypto.SignatureSize-1] = 0x30
	c.add(pkg, "FuzzSignatureFromBytes", "infinity-nonzero-last-byte", infTail)
	c.add(pkg, "FuzzSignatureFromBytes", "all-ff", bytes.Repeat([]byte{0xff}, crypto.SignatureSize))
	flippedSig := slices.Clone(sig)
	flippedSig[0] ^= 0x20
	c.add(pkg, "FuzzSignatureFromBytes", "other-y", flippedSig)

	// FuzzParseKeyFile
	sk0, sk1 := cryptoKey(0), cryptoKey(1)
	kf := keyFileJSON(sk0)
	c.add(pkg, "FuzzParseKeyFile", "valid-0", kf)
	c.add(pkg, "FuzzParseKeyFile", "valid-1", keyFileJSON(sk1))
	c.add(pkg, "FuzzParseKeyFile", "empty", []byte{})
	c.add(pkg, "FuzzParseKeyFile", "empty-object", []byte("{}"))
	c.add(pkg, "FuzzParseKeyFile", "null", []byte("null"))
	c.add(pkg, "FuzzParseKeyFile", "truncated", kf[:len(kf)/2])
	c.add(pkg, "FuzzParseKeyFile", "wrong-type", bytes.Replace(kf, []byte(crypto.KeyFileType), []byte("ed25519"), 1))
	hexOf := func(b []byte) []byte { return []byte(hex.EncodeToString(b)) }
	c.add(pkg, "FuzzParseKeyFile", "other-pop", bytes.Replace(kf,
		hexOf(crypto.ProvePossession(sk0).Bytes()), hexOf(crypto.ProvePossession(sk1).Bytes()), 1))
	c.add(pkg, "FuzzParseKeyFile", "other-public-key", bytes.Replace(kf,
		hexOf(sk0.PublicKey().Bytes()), hexOf(sk1.PublicKey().Bytes()), 1))
	c.add(pkg, "FuzzParseKeyFile", "zero-secret-key", bytes.Replace(kf,
		hexOf(sk0.Bytes()), bytes.Repeat([]byte("0"), 2*crypto.SecretKeySize), 1))
	c.add(pkg, "FuzzParseKeyFile", "uppercase-public-key", bytes.Replace(kf,
		hexOf(sk0.PublicKey().Bytes()), bytes.ToUpper(hexOf(sk0.PublicKey().Bytes())), 1))
	c.add(pkg, "FuzzParseKeyFile", "secret-key-not-hex", bytes.Replace(kf,
		hexOf(sk0.Bytes()), bytes.Repeat([]byte("zz"), crypto.SecretKeySize), 1))
}

// ---- types -----------------------------------------------------------------

func typesCorpora(c *corpus) {
	const pkg = "types"

	// FuzzDecodeMessage and FuzzBlockUnmarshal
	for _, s := range typestest.SampleMessages() {
		data := must(types.EncodeMessage(s.Message))
		c.add(pkg, "FuzzDecodeMessage", "valid-"+s.Name, data)
		c.add(pkg, "FuzzDecodeMessage", "truncated-"+s.Name, data[:len(data)/2])
		spoofed := s.Message
		spoofed.From = s.Message.From + 1
		c.add(pkg, "FuzzDecodeMessage", "spoofed-sender-"+s.Name, must(types.EncodeMessage(spoofed)))

		var b *types.Block
		switch p := s.Message.Payload.(type) {
		case *types.Proposal:
			b = p.Block
		case *types.PBFTPrePrepare:
			b = p.Block
		}
		if b != nil {
			data := marshal(b)
			c.add(pkg, "FuzzBlockUnmarshal", "valid-"+s.Name, data)
			c.add(pkg, "FuzzBlockUnmarshal", "truncated-"+s.Name, data[:len(data)-1])
		}
	}
	c.add(pkg, "FuzzDecodeMessage", "empty", []byte{})
	c.add(pkg, "FuzzDecodeMessage", "garbage", []byte{0xff, 0xff, 0xff})
	c.add(pkg, "FuzzDecodeMessage", "unknown-type", marshal(&types.Envelope{From: 1, Type: 99, Payload: []byte{0x08, 0x01}}))
	c.add(pkg, "FuzzDecodeMessage", "vote-short-signature", must(types.EncodeMessage(types.Message{From: 1,
		Payload: &types.Vote{View: 1, BlockID: types.BlockID{1}, Voter: 1, Signature: []byte{1, 2, 3}}})))
	c.add(pkg, "FuzzDecodeMessage", "vote-short-block-id", marshal(&types.Envelope{Type: types.MsgHotStuffVote, Payload: []byte{0x12, 0x03, 1, 2, 3}}))
	c.add(pkg, "FuzzDecodeMessage", "vote-view-0", must(types.EncodeMessage(types.Message{From: 1,
		Payload: &types.Vote{View: 0, BlockID: types.BlockID{1}, Voter: 1, Signature: infinitySig()}})))
	c.add(pkg, "FuzzDecodeMessage", "pbft-vote-unknown-phase", must(types.EncodeMessage(types.Message{From: 1,
		Payload: &types.PBFTVote{Phase: 9, View: 1, Seq: 1, Replica: 1, Signature: infinitySig()}})))

	c.add(pkg, "FuzzBlockUnmarshal", "empty-block", marshal(&types.Block{Height: 1, View: 1}))
	c.add(pkg, "FuzzBlockUnmarshal", "height-0", marshal(&types.Block{View: 1, Txs: []types.Tx{[]byte("x")}}))
	c.add(pkg, "FuzzBlockUnmarshal", "empty", []byte{})
	c.add(pkg, "FuzzBlockUnmarshal", "short-parent-id", []byte{0x1a, 0x01, 0x00})
	c.add(pkg, "FuzzBlockUnmarshal", "empty-tx", []byte{0x32, 0x00})
	c.add(pkg, "FuzzBlockUnmarshal", "justify-bad-signature", marshal(&types.Block{Height: 2, View: 2,
		Justify: &types.QuorumCert{View: 1, Signers: types.Bitmap{0x07}, Signature: []byte{1}}}))

	// FuzzParseGenesis
	good := typestest.SampleGenesisJSON(4, `{"accounts":{"alice":10}}`)
	c.add(pkg, "FuzzParseGenesis", "valid-4", good)
	c.add(pkg, "FuzzParseGenesis", "valid-1", typestest.SampleGenesisJSON(1, ""))
	c.add(pkg, "FuzzParseGenesis", "empty", []byte{})
	c.add(pkg, "FuzzParseGenesis", "empty-object", []byte("{}"))
	c.add(pkg, "FuzzParseGenesis", "no-validators", []byte(`{"chain_id":"x","validators":[]}`))
	c.add(pkg, "FuzzParseGenesis", "truncated", good[:len(good)/2])
	c.add(pkg, "FuzzParseGenesis", "trailing-data", append(slices.Clone(good), []byte(" {}")...))
	c.add(pkg, "FuzzParseGenesis", "unknown-field", bytes.Replace(good, []byte(`"chain_id"`), []byte(`"chainid"`), 1))
	c.add(pkg, "FuzzParseGenesis", "bad-chain-id", bytes.Replace(good, []byte(typestest.ChainID), []byte("bad chain id"), 1))
	c.add(pkg, "FuzzParseGenesis", "bad-app-state", bytes.Replace(good, []byte(`"app_state": {`), []byte(`"app_state": {{`), 1))
	c.add(pkg, "FuzzParseGenesis", "bad-address", bytes.Replace(good, []byte(`"/ip4/`), []byte(`"ip4/`), 1))
	var g types.Genesis
	if err := json.Unmarshal(good, &g); err != nil {
		panic(err)
	}
	dup := g
	dup.Validators = slices.Clone(g.Validators)
	dup.Validators[1].PubKey, dup.Validators[1].PoP = dup.Validators[2].PubKey, dup.Validators[2].PoP
	c.add(pkg, "FuzzParseGenesis", "duplicate-key", must(json.MarshalIndent(dup, "", "  ")))
	swapped := g
	swapped.Validators = slices.Clone(g.Validators)
	swapped.Validators[1].PoP, swapped.Validators[2].PoP = g.Validators[2].PoP, g.Validators[1].PoP
	c.add(pkg, "FuzzParseGenesis", "swapped-pops", must(json.MarshalIndent(swapped, "", "  ")))

	// FuzzBitmap: (bitmap, n)
	fx := typestest.Validators(4, 1)
	bitmaps := []struct {
		name string
		b    []byte
		n    int
	}{
		{"quorum-of-4", fx.Bitmap(0, 1, 2), 4},
		{"all-of-4", fx.Bitmap(0, 1, 2, 3), 4},
		{"non-member-of-4", []byte{0x10}, 4},
		{"all-of-9", []byte{0xff, 0x01}, 9},
		{"non-member-of-9", []byte{0xff, 0x03}, 9},
		{"all-of-16", []byte{0xff, 0xff}, 16},
		{"empty-of-0", []byte{}, 0},
		{"one-of-0", []byte{0x01}, 0},
		{"negative-n", []byte{0x01}, -1},
		{"too-long-for-17", []byte{0x80, 0x00, 0x01, 0x00}, 17},
		{"sparse-of-17", []byte{0x80, 0x00, 0x01}, 17},
	}
	for _, bm := range bitmaps {
		c.add(pkg, "FuzzBitmap", bm.name, bm.b, bm.n)
	}
}

// ---- qc --------------------------------------------------------------------

func qcCorpora(c *corpus) {
	const pkg = "qc"
	fx := typestest.Validators(4, 1)

	// FuzzVerifyQC
	for i, h := range fx.HonestQCs() {
		c.add(pkg, "FuzzVerifyQC", fmt.Sprintf("valid-%d-view-%d", i, h.View), marshal(h))
	}
	h := fx.HonestQCs()[0]
	qcWith := func(mod func(*types.QuorumCert)) []byte {
		q := &types.QuorumCert{View: h.View, BlockID: h.BlockID, Signers: slices.Clone(h.Signers), Signature: slices.Clone(h.Signature)}
		mod(q)
		return marshal(q)
	}
	c.add(pkg, "FuzzVerifyQC", "below-quorum", marshal(fx.QC(1, typestest.SampleBlockID(1), 0, 1)))
	c.add(pkg, "FuzzVerifyQC", "other-view", qcWith(func(q *types.QuorumCert) { q.View = 2 }))
	c.add(pkg, "FuzzVerifyQC", "other-block", qcWith(func(q *types.QuorumCert) { q.BlockID = typestest.SampleBlockID(2) }))
	c.add(pkg, "FuzzVerifyQC", "other-signers", qcWith(func(q *types.QuorumCert) { q.Signers = fx.Bitmap(1, 2, 3) }))
	c.add(pkg, "FuzzVerifyQC", "bitmap-too-long", qcWith(func(q *types.QuorumCert) { q.Signers = types.Bitmap{0x07, 0x00} }))
	c.add(pkg, "FuzzVerifyQC", "non-member-bit", qcWith(func(q *types.QuorumCert) { q.Signers = types.Bitmap{0x17} }))
	c.add(pkg, "FuzzVerifyQC", "short-signature", qcWith(func(q *types.QuorumCert) { q.Signature = q.Signature[:95] }))
	c.add(pkg, "FuzzVerifyQC", "identity-signature", qcWith(func(q *types.QuorumCert) { q.Signature = infinitySig() }))
	c.add(pkg, "FuzzVerifyQC", "signature-not-a-point", qcWith(func(q *types.QuorumCert) { q.Signature = bytes.Repeat([]byte{0xff}, 96) }))
	c.add(pkg, "FuzzVerifyQC", "other-chain", qcWith(func(q *types.QuorumCert) {
		q.Signature = fx.Sign(types.VoteSignBytes("other-chain", q.View, q.BlockID), 0, 1, 2).Bytes()
	}))
	c.add(pkg, "FuzzVerifyQC", "other-domain", qcWith(func(q *types.QuorumCert) {
		q.Signature = fx.Sign(types.ProposalSignBytes(typestest.ChainID, q.View, q.BlockID), 0, 1, 2).Bytes()
	}))
	good := marshal(h)
	c.add(pkg, "FuzzVerifyQC", "truncated", good[:len(good)-1])
	c.add(pkg, "FuzzVerifyQC", "empty", []byte{})

	// FuzzVerifyTC
	for i, t := range fx.HonestTCs() {
		c.add(pkg, "FuzzVerifyTC", fmt.Sprintf("valid-%d-view-%d", i, t.View), marshal(t))
	}
	t := fx.HonestTCs()[1]
	tcWith := func(mod func(*types.TimeoutCert)) []byte {
		tc := &types.TimeoutCert{View: t.View, Signers: slices.Clone(t.Signers), HighQcViews: slices.Clone(t.HighQcViews), Signature: slices.Clone(t.Signature)}
		mod(tc)
		return marshal(tc)
	}
	c.add(pkg, "FuzzVerifyTC", "below-quorum", marshal(fx.TC(5, []int{0, 1}, []uint64{4, 4})))
	c.add(pkg, "FuzzVerifyTC", "high-qc-views-swapped", tcWith(func(tc *types.TimeoutCert) {
		tc.HighQcViews[0], tc.HighQcViews[1] = tc.HighQcViews[1], tc.HighQcViews[0]
	}))
	c.add(pkg, "FuzzVerifyTC", "high-qc-views-count", tcWith(func(tc *types.TimeoutCert) { tc.HighQcViews = tc.HighQcViews[:3] }))
	c.add(pkg, "FuzzVerifyTC", "high-qc-view-not-below", tcWith(func(tc *types.TimeoutCert) { tc.HighQcViews[3] = 6 }))
	c.add(pkg, "FuzzVerifyTC", "other-view", tcWith(func(tc *types.TimeoutCert) { tc.View = 7 }))
	c.add(pkg, "FuzzVerifyTC", "non-member-bit", tcWith(func(tc *types.TimeoutCert) {
		tc.Signers, tc.HighQcViews = types.Bitmap{0x1f}, append(tc.HighQcViews, 0)
	}))
	c.add(pkg, "FuzzVerifyTC", "identity-signature", tcWith(func(tc *types.TimeoutCert) { tc.Signature = infinitySig() }))
	c.add(pkg, "FuzzVerifyTC", "short-signature", tcWith(func(tc *types.TimeoutCert) { tc.Signature = tc.Signature[1:] }))
	c.add(pkg, "FuzzVerifyTC", "other-chain", tcWith(func(tc *types.TimeoutCert) {
		sigs := make([]crypto.Signature, 4)
		for k := range sigs {
			sigs[k] = crypto.Sign(fx.Keys[k], types.TimeoutSignBytes("other-chain", tc.View, tc.HighQcViews[k]))
		}
		agg, _ := crypto.AggregateSignatures(sigs)
		tc.Signature = agg.Bytes()
	}))
	goodTC := marshal(t)
	c.add(pkg, "FuzzVerifyTC", "truncated", goodTC[:len(goodTC)-1])
	c.add(pkg, "FuzzVerifyTC", "empty", []byte{})

	// FuzzVerifyPBFTCert
	for i, p := range fx.HonestPBFTCerts() {
		c.add(pkg, "FuzzVerifyPBFTCert", fmt.Sprintf("valid-%d-%s", i, strings.ToLower(strings.TrimPrefix(p.Phase.String(), "PBFT_PHASE_"))), marshal(p))
	}
	p := fx.HonestPBFTCerts()[0]
	pWith := func(mod func(*types.PBFTCert)) []byte {
		pc := &types.PBFTCert{Phase: p.Phase, View: p.View, Seq: p.Seq, Digest: p.Digest,
			Signers: slices.Clone(p.Signers), Signatures: slices.Clone(p.Signatures)}
		mod(pc)
		return marshal(pc)
	}
	c.add(pkg, "FuzzVerifyPBFTCert", "below-quorum", marshal(fx.PBFTCert(types.PhasePrepare, 1, 1, typestest.SampleBlockID(1), 0, 1)))
	c.add(pkg, "FuzzVerifyPBFTCert", "duplicate-signature", marshal(fx.PBFTCert(types.PhasePrepare, 1, 1, typestest.SampleBlockID(1), 0, 0, 1)))
	c.add(pkg, "FuzzVerifyPBFTCert", "duplicate-signer", pWith(func(pc *types.PBFTCert) { pc.Signers[2] = 0 }))
	c.add(pkg, "FuzzVerifyPBFTCert", "non-member", pWith(func(pc *types.PBFTCert) { pc.Signers[2] = 4 }))
	c.add(pkg, "FuzzVerifyPBFTCert", "other-phase", pWith(func(pc *types.PBFTCert) { pc.Phase = types.PhaseCommit }))
	c.add(pkg, "FuzzVerifyPBFTCert", "no-phase", pWith(func(pc *types.PBFTCert) { pc.Phase = types.PhaseUnknown }))
	c.add(pkg, "FuzzVerifyPBFTCert", "unknown-phase", pWith(func(pc *types.PBFTCert) { pc.Phase = 7 }))
	c.add(pkg, "FuzzVerifyPBFTCert", "other-seq", pWith(func(pc *types.PBFTCert) { pc.Seq = 2 }))
	c.add(pkg, "FuzzVerifyPBFTCert", "signatures-swapped", pWith(func(pc *types.PBFTCert) {
		pc.Signatures[0], pc.Signatures[1] = pc.Signatures[1], pc.Signatures[0]
	}))
	c.add(pkg, "FuzzVerifyPBFTCert", "signature-count", pWith(func(pc *types.PBFTCert) { pc.Signatures = pc.Signatures[:2] }))
	c.add(pkg, "FuzzVerifyPBFTCert", "identity-signature", pWith(func(pc *types.PBFTCert) { pc.Signatures[1] = infinitySig() }))
	c.add(pkg, "FuzzVerifyPBFTCert", "short-signature", pWith(func(pc *types.PBFTCert) { pc.Signatures[1] = pc.Signatures[1][:95] }))
	c.add(pkg, "FuzzVerifyPBFTCert", "subset-of-commit", pWith(func(pc *types.PBFTCert) {
		// A quorum subset of an honest certificate: valid.
		all := fx.HonestPBFTCerts()[1]
		pc.Phase, pc.View, pc.Seq, pc.Digest = all.Phase, all.View, all.Seq, all.Digest
		pc.Signers, pc.Signatures = all.Signers[1:], all.Signatures[1:]
	}))
	goodP := marshal(p)
	c.add(pkg, "FuzzVerifyPBFTCert", "truncated", goodP[:len(goodP)-1])
	c.add(pkg, "FuzzVerifyPBFTCert", "empty", []byte{})
}
