package mempool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/app"
)

// The mempool must agree with a naive model (slices scanned in full, no
// indexes, no cursor) on every step of random Add / Reap / MarkProposed /
// Update / NextGossipBatch / Subscribe sequences, and after every step:
// no accepted tx vanishes (each is pending, committed, or dropped with a
// reason), no tx is reaped while a mark holds it, the sizes agree, and the
// limits hold. MEMPOOL_MODEL_SEEDS=N runs N seeds.
func TestMempoolMatchesModel(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	if s, err := strconv.Atoi(os.Getenv("MEMPOOL_MODEL_SEEDS")); err == nil && s > 0 {
		seeds = s
	}
	var total Stats
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("reproduce: go test -race ./mempool/ -run 'TestMempoolMatchesModel/seed=%d$'", seed)
				}
			}()
			st := runModel(t, seed, 600)
			total.Accepted += st.Accepted
			total.Committed += st.Committed
			total.Rejected.Full += st.Rejected.Full
			total.Rejected.Duplicate += st.Rejected.Duplicate
			total.Rejected.CheckTx += st.Rejected.CheckTx
			total.Dropped.Recheck += st.Dropped.Recheck
			total.Dropped.Expired += st.Dropped.Expired
		})
	}
	// The random walk must keep reaching every outcome, or it proves little.
	require.NotZero(t, total.Committed, "no commits: %+v", total)
	require.NotZero(t, total.Rejected.Full, "mempool never full: %+v", total)
	require.NotZero(t, total.Rejected.Duplicate, "no duplicates: %+v", total)
	require.NotZero(t, total.Rejected.CheckTx, "no CheckTx rejections: %+v", total)
	require.NotZero(t, total.Dropped.Recheck, "no recheck drops: %+v", total)
	require.NotZero(t, total.Dropped.Expired, "no expiries: %+v", total)
}

// epochChecker is a deterministic app: a tx carries the epoch (count of
// committed blocks) from which it is invalid, 0 for never. The test sets
// the epoch before each Update, as committing a block changes the state.
type epochChecker struct{ epoch atomic.Uint64 }

func (c *epochChecker) valid(tx []byte, epoch uint64) bool {
	if len(tx) < 16 {
		return true
	}
	until := binary.BigEndian.Uint64(tx[8:16])
	return until == 0 || epoch < until
}

func (c *epochChecker) CheckTx(_ context.Context, req app.CheckTxRequest) (app.CheckTxResponse, error) {
	if c.valid(req.Tx, c.epoch.Load()) {
		return app.CheckTxResponse{}, nil
	}
	return app.CheckTxResponse{Code: 2, Log: "expired state"}, nil
}

type modelTx struct {
	tx       []byte
	hash     TxHash
	local    bool
	addedAt  uint64
	marked   bool
	markH    uint64
	gossiped bool
}

type modelSub struct {
	hash      TxHash
	ch        <-chan Outcome
	cancel    func()
	fired     *Outcome // what it must have received
	received  bool
	cancelled bool
}

type model struct {
	cfg          Config
	checker      *epochChecker
	pending      []*modelTx // arrival order
	final        map[TxHash]Outcome
	accepted     map[TxHash]bool
	updated      bool
	height       uint64
	updates      uint64
	subs         []*modelSub
	proposals    map[uint64][][]byte
	absent       map[TxHash]uint64 // marks of txs not pending (yet)
	exactRecheck bool
}

func (md *model) find(h TxHash) (int, *modelTx) {
	for i, p := range md.pending {
		if p.hash == h {
			return i, p
		}
	}
	return -1, nil
}

func (md *model) size() (int, int) {
	b := 0
	for _, p := range md.pending {
		b += len(p.tx)
	}
	return len(md.pending), b
}

func (md *model) activeSubs() int {
	n := 0
	for _, s := range md.subs {
		if !s.cancelled && s.fired == nil {
			n++
		}
	}
	return n
}

// add predicts Add's error (nil = accepted) in the documented order.
func (md *model) add(tx []byte, src Source) error {
	h := HashTx(tx)
	n, b := md.size()
	switch {
	case len(tx) == 0:
		return ErrEmptyTx
	case len(tx) > md.cfg.MaxTxBytes:
		return ErrTxTooLarge
	}
	if _, p := md.find(h); p != nil {
		return ErrDuplicate
	}
	if o, ok := md.final[h]; ok && o.Status == Committed {
		return ErrDuplicate
	}
	if n+1 > md.cfg.MaxTxs || b+len(tx) > md.cfg.MaxBytes {
		return ErrMempoolFull
	}
	if !md.checker.valid(tx, md.updates) {
		return &RejectedError{}
	}
	p := &modelTx{tx: tx, hash: h, local: src == Local, addedAt: md.updates}
	if height, ok := md.absent[h]; ok {
		p.marked, p.markH = true, height
		delete(md.absent, h)
	}
	md.pending = append(md.pending, p)
	md.accepted[h] = true
	return nil
}

func (md *model) reap(maxTxs, maxBytes int) []string {
	var out []string
	size := 0
	for _, p := range md.pending {
		if maxTxs >= 0 && len(out) >= maxTxs {
			break
		}
		if p.marked {
			continue
		}
		if maxBytes >= 0 && size+len(p.tx) > maxBytes {
			break
		}
		out = append(out, string(p.tx))
		size += len(p.tx)
	}
	return out
}

func (md *model) mark(height uint64, txs [][]byte) {
	if md.updated && height <= md.height {
		return
	}
	for _, tx := range txs {
		h := HashTx(tx)
		_, p := md.find(h)
		old, seen := md.absent[h]
		switch {
		case p != nil && (!p.marked || p.markH < height):
			p.marked, p.markH = true, height
		case p != nil:
		case seen && old >= height:
		case seen || len(md.absent) < md.cfg.MaxTxs:
			md.absent[h] = height
		}
	}
}

func (md *model) finalize(h TxHash, o Outcome) {
	md.final[h] = o
	for _, s := range md.subs {
		if s.hash == h && !s.cancelled && s.fired == nil {
			s.fired = &o
		}
	}
}

func (md *model) remove(i int) { md.pending = append(md.pending[:i], md.pending[i+1:]...) }

// update applies everything Update does that the model can predict: the
// commit, the releases, the TTL and, if every tx is rechecked, the recheck.
func (md *model) update(height uint64, txs [][]byte) {
	md.updated, md.height = true, height
	md.updates++
	for _, tx := range txs {
		h := HashTx(tx)
		if i, _ := md.find(h); i >= 0 {
			md.remove(i)
		}
		md.finalize(h, Outcome{Status: Committed, Height: height})
	}
	for _, p := range md.pending {
		if p.marked && p.markH <= height {
			p.marked, p.markH = false, 0
		}
	}
	for h, hgt := range md.absent {
		if hgt <= height {
			delete(md.absent, h)
		}
	}
	md.dropIf(func(p *modelTx) (DropReason, bool) {
		return DropExpired, md.cfg.TTLHeights > 0 && md.updates-p.addedAt >= md.cfg.TTLHeights
	}, height)
	if md.exactRecheck {
		md.dropIf(func(p *modelTx) (DropReason, bool) {
			return DropRecheck, !md.checker.valid(p.tx, md.updates)
		}, height)
	}
}

func (md *model) dropIf(pred func(*modelTx) (DropReason, bool), height uint64) {
	kept := md.pending[:0]
	for _, p := range md.pending {
		if reason, drop := pred(p); drop && !p.marked {
			md.finalize(p.hash, md.dropped(height, reason))
			continue
		}
		kept = append(kept, p)
	}
	md.pending = kept
}

func (md *model) dropped(height uint64, reason DropReason) Outcome {
	detail := "code 2: expired state" // epochChecker's rejection
	if reason == DropExpired {
		detail = fmt.Sprintf("not committed within %d blocks", md.cfg.TTLHeights)
	}
	return Outcome{Status: Dropped, Height: height, Reason: reason, Detail: detail}
}

func (md *model) gossip() []string {
	var out []string
	size := 0
	for _, p := range md.pending {
		if !p.local || p.gossiped {
			continue
		}
		if len(out) >= md.cfg.MaxGossipBatchTxs || size+len(p.tx) > md.cfg.MaxGossipBatchBytes {
			break
		}
		p.gossiped = true
		out = append(out, string(p.tx))
		size += len(p.tx)
	}
	return out
}

func runModel(t *testing.T, seed uint64, steps int) Stats {
	rng := rand.New(rand.NewPCG(seed, 0x6d656d706f6f6c)) // "mempool"
	cfg := Config{
		MaxTxs:           3 + rng.IntN(30),
		MaxBytes:         200 + rng.IntN(2000),
		MaxTxBytes:       16 + rng.IntN(120),
		OutcomeCacheSize: 1 << 20, // never evicts here: the model checks every outcome
		MaxSubscribers:   1 + rng.IntN(6),
	}
	cfg.MaxGossipBatchTxs = 1 + rng.IntN(8)
	cfg.MaxGossipBatchBytes = cfg.MaxTxBytes + rng.IntN(300)
	if rng.IntN(3) > 0 {
		cfg.TTLHeights = uint64(1 + rng.IntN(8))
	}
	exact := rng.IntN(2) == 0
	cfg.MaxRecheckPerUpdate = 1 + rng.IntN(4)
	if exact {
		cfg.MaxRecheckPerUpdate = cfg.MaxTxs
	}
	chk := &epochChecker{}
	m := newTestMempool(t, cfg, chk)
	md := &model{cfg: cfg, checker: chk, final: map[TxHash]Outcome{}, accepted: map[TxHash]bool{},
		proposals: map[uint64][][]byte{}, absent: map[TxHash]uint64{}, exactRecheck: exact}
	ctx := context.Background()

	nextID := uint64(0)
	var known [][]byte // every tx generated, to resubmit and commit
	newTx := func() []byte {
		if rng.IntN(100) == 0 {
			return []byte{}
		}
		nextID++
		n := 16 + rng.IntN(cfg.MaxTxBytes-16+1)
		if rng.IntN(20) == 0 {
			n = cfg.MaxTxBytes + 1 + rng.IntN(10)
		}
		tx := make([]byte, n)
		binary.BigEndian.PutUint64(tx, nextID)
		if rng.IntN(4) == 0 {
			binary.BigEndian.PutUint64(tx[8:], md.updates+uint64(rng.IntN(6))) // 0 extra: invalid already
		}
		known = append(known, tx)
		return tx
	}
	pick := func() []byte { return known[rng.IntN(len(known))] }
	somePending := func() [][]byte {
		var out [][]byte
		for _, p := range md.pending {
			if rng.IntN(3) == 0 {
				out = append(out, p.tx)
			}
		}
		return out
	}
	// heldByMark: txs reaped then marked; none may be reaped while marked.
	for step := range steps {
		var op string
		switch r := rng.IntN(100); {
		case r < 45:
			var tx []byte
			if len(known) == 0 || rng.IntN(10) < 7 {
				tx = newTx()
			} else {
				tx = pick()
			}
			src := Local
			if rng.IntN(2) == 0 {
				src = Peer
			}
			op = fmt.Sprintf("Add(%x, %v)", HashTx(tx).String()[:8], src)
			want := md.add(tx, src)
			_, err := m.Add(ctx, tx, src)
			switch re := (*RejectedError)(nil); {
			case want == nil:
				require.NoError(t, err, op)
			case errors.As(want, &re):
				require.ErrorAs(t, err, &re, op)
			default:
				require.ErrorIs(t, err, want, op)
			}
		case r < 58:
			maxTxs, maxBytes := rng.IntN(15)-1, rng.IntN(cfg.MaxBytes/2)-1
			op = fmt.Sprintf("Reap(%d, %d)", maxTxs, maxBytes)
			got := m.Reap(maxTxs, maxBytes)
			require.Equal(t, md.reap(maxTxs, maxBytes), strs(got), op)
			for _, tx := range got {
				_, p := md.find(HashTx(tx))
				require.False(t, p.marked, "%s: reaped %x while marked at %d", op, tx, p.markH)
			}
			if len(got) > 0 && rng.IntN(2) == 0 { // propose them
				h := md.height + 1 + uint64(rng.IntN(2))
				op += fmt.Sprintf("; MarkProposed(%d)", h)
				m.MarkProposed(h, got)
				md.mark(h, got)
				md.proposals[h] = got
			}
		case r < 65:
			txs := somePending()
			if len(known) > 0 {
				txs = append(txs, pick())
			}
			if rng.IntN(2) == 0 {
				txs = append(txs, newTx()) // its gossip comes later, if at all
			}
			h := md.height + uint64(rng.IntN(4)) // md.height itself is stale
			op = fmt.Sprintf("MarkProposed(%d, %d txs)", h, len(txs))
			m.MarkProposed(h, txs)
			md.mark(h, txs)
		case r < 78:
			if md.updated && rng.IntN(15) == 0 {
				h := md.height - uint64(rng.IntN(int(min(md.height, 3))+1))
				op = fmt.Sprintf("Update(%d) out of order", h)
				require.ErrorIs(t, m.Update(ctx, h, nil), ErrHeightOrder, op)
				break
			}
			h := md.height + 1
			if rng.IntN(20) == 0 {
				h += uint64(rng.IntN(3)) // a gap: state sync
			}
			txs, ok := md.proposals[h]
			if !ok || rng.IntN(3) == 0 { // some other block won
				txs = somePending()
			}
			if len(known) > 0 && rng.IntN(3) == 0 {
				txs = append(txs, pick()) // from another node, or again
			}
			op = fmt.Sprintf("Update(%d, %d txs)", h, len(txs))
			chk.epoch.Store(md.updates + 1)
			require.NoError(t, m.Update(ctx, h, txs), op)
			md.update(h, txs)
			for hgt := range md.proposals {
				if hgt <= h {
					delete(md.proposals, hgt)
				}
			}
			reconcileRecheck(t, m, md, op)
		case r < 90:
			op = "NextGossipBatch"
			require.Equal(t, md.gossip(), strs(m.NextGossipBatch()), op)
		case r < 96:
			var h TxHash
			if len(known) > 0 && rng.IntN(5) > 0 {
				h = HashTx(pick())
			} else {
				h = HashTx(fmt.Appendf(nil, "elsewhere-%d", step))
			}
			op = "Subscribe(" + h.String()[:8] + ")"
			ch, cancel, err := m.Subscribe(h)
			_, p := md.find(h)
			o, final := md.final[h]
			switch {
			case p == nil && final:
				require.NoError(t, err, op)
				require.Equal(t, o, recvNow(t, ch), op+": fires at once")
			case md.activeSubs() >= cfg.MaxSubscribers:
				require.ErrorIs(t, err, ErrTooManySubscribers, op)
			default:
				require.NoError(t, err, op)
				md.subs = append(md.subs, &modelSub{hash: h, ch: ch, cancel: cancel})
			}
		default:
			op = "cancel"
			if len(md.subs) > 0 {
				s := md.subs[rng.IntN(len(md.subs))]
				s.cancel()
				if s.fired == nil {
					s.cancelled = true
				}
			}
		}
		checkModel(t, m, md, fmt.Sprintf("seed %d step %d %s", seed, step, op))
	}
	// Let everything settle: commit nothing until the last marks (at most
	// 3 heights ahead) are released and the TTL has run out, if any.
	for range cfg.TTLHeights + 3 {
		h := md.height + 1
		chk.epoch.Store(md.updates + 1)
		require.NoError(t, m.Update(ctx, h, nil))
		md.update(h, nil)
		reconcileRecheck(t, m, md, "final Update")
		checkModel(t, m, md, "settle")
	}
	if cfg.TTLHeights > 0 {
		n, _ := m.Size()
		require.Zero(t, n, "after TTL blocks without commits nothing is left")
	}
	return m.Stats()
}

// reconcileRecheck accepts the drops a bounded recheck made: only of txs
// the app rejects now, unmarked, with the recheck reason.
func reconcileRecheck(t *testing.T, m *Mempool, md *model, op string) {
	if md.exactRecheck {
		return
	}
	kept := md.pending[:0]
	for _, p := range md.pending {
		o, ok := m.Status(p.hash)
		require.True(t, ok, "%s: pending tx %x vanished", op, p.tx)
		if o.Status == Pending {
			kept = append(kept, p)
			continue
		}
		require.Equal(t, md.dropped(md.height, DropRecheck), o, op)
		require.False(t, p.marked, "%s: a marked tx was rechecked", op)
		require.False(t, md.checker.valid(p.tx, md.updates), "%s: dropped a valid tx", op)
		md.finalize(p.hash, o)
	}
	md.pending = kept
}

func checkModel(t *testing.T, m *Mempool, md *model, op string) {
	t.Helper()
	checkInvariants(t, m)
	wantN, wantB := md.size()
	n, b := m.Size()
	require.Equal(t, wantN, n, "%s: tx count", op)
	require.Equal(t, wantB, b, "%s: bytes", op)
	for _, p := range md.pending {
		o, ok := m.Status(p.hash)
		require.True(t, ok, op)
		require.Equal(t, Outcome{Status: Pending}, o, op)
	}
	for h := range md.accepted {
		o, ok := m.Status(h)
		require.True(t, ok, "%s: accepted tx %s vanished", op, h)
		if o.Status == Pending {
			_, p := md.find(h)
			require.NotNil(t, p, "%s: %s pending, the model says final", op, h)
			continue
		}
		if o.Status == Dropped {
			require.NotEqual(t, NoReason, o.Reason, "%s: dropped without a reason", op)
			require.NotEmpty(t, o.Detail, op)
		}
		require.Equal(t, md.final[h], o, "%s: outcome of %s", op, h)
	}
	for _, s := range md.subs {
		switch {
		case s.received:
		case s.fired != nil:
			require.Equal(t, *s.fired, recvNow(t, s.ch), "%s: subscription to %s", op, s.hash)
			s.received = true
		default:
			requireNothing(t, s.ch)
		}
	}
	require.Equal(t, md.activeSubs(), m.nsubs, "%s: active subscriptions", op)
	requireConservation(t, m, op)
}

// requireConservation: every accepted tx is pending, committed or dropped.
func requireConservation(t testing.TB, m *Mempool, op string) {
	t.Helper()
	st := m.Stats()
	n, _ := m.Size()
	require.Equal(t, st.Accepted, uint64(n)+st.Committed+st.Dropped.Recheck+st.Dropped.Expired,
		"%s: accepted txs unaccounted for: %+v, %d pending", op, st, n)
}
