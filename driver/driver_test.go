package driver

import (
	"errors"
	"testing"
	"time"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
	"github.com/stretchr/testify/require"
)

// scriptEngine hands out scripted Readys, one per input, and records
// what the driver did, in order, in a shared journal.
type scriptEngine struct {
	journal  *[]string
	pending  []types.Ready
	halted   error
	proposed []types.ProposalPayload
	stepped  []types.Message
	forever  bool // always has more work: a broken engine
}

func (e *scriptEngine) Step(m types.Message) error {
	e.stepped = append(e.stepped, m)
	*e.journal = append(*e.journal, "step")
	return nil
}
func (e *scriptEngine) Tick() { *e.journal = append(*e.journal, "tick") }
func (e *scriptEngine) Propose(p types.ProposalPayload) error {
	e.proposed = append(e.proposed, p)
	*e.journal = append(*e.journal, "propose")
	return nil
}
func (e *scriptEngine) HasReady() bool { return e.forever || len(e.pending) > 0 }
func (e *scriptEngine) Ready() types.Ready {
	if e.forever {
		return types.Ready{SafetyState: []byte{1}}
	}
	return e.pending[0]
}
func (e *scriptEngine) Advance(types.Ready) {
	*e.journal = append(*e.journal, "advance")
	if !e.forever {
		e.pending = e.pending[1:]
	}
}
func (e *scriptEngine) Position() (uint64, types.ValidatorIndex) { return 7, 3 }
func (e *scriptEngine) Halted() error                            { return e.halted }

// journalWorld is storage, transport, application and payload source,
// journaling each call.
type journalWorld struct {
	journal    *[]string
	persistErr error
	waiting    bool
}

func (w *journalWorld) Persist(*types.Ready) error {
	*w.journal = append(*w.journal, "persist")
	return w.persistErr
}
func (w *journalWorld) Send(m types.Message, _ protocol.Class) {
	*w.journal = append(*w.journal, "send")
}
func (w *journalWorld) Commit([]types.CommittedBlock) error {
	*w.journal = append(*w.journal, "commit")
	return nil
}
func (w *journalWorld) Evidence([]*types.DoubleSign) { *w.journal = append(*w.journal, "evidence") }
func (w *journalWorld) Waiting() bool                { return w.waiting }
func (w *journalWorld) Payload(req *types.PayloadRequest) types.ProposalPayload {
	return types.ProposalPayload{View: req.View}
}

var testDescriptor = protocol.Descriptor{
	Name: "script", Quorum: func(n int) int { return n },
	New:   func(protocol.Env) (protocol.Engine, error) { return nil, errors.New("built by hand in these tests") },
	Types: map[types.MsgType]protocol.Class{types.MsgHotStuffVote: protocol.Vote},
}

func newScripted(t *testing.T, e *scriptEngine, w *journalWorld, clock Clock, emptyBlock time.Duration) *Driver {
	t.Helper()
	d, err := New(Config{Self: 0, Descriptor: &testDescriptor, Engine: e, Storage: w, Transport: w, App: w,
		Payloads: w, Clock: clock, EmptyBlockInterval: emptyBlock})
	require.NoError(t, err)
	return d
}

func vote(to types.ValidatorIndex) types.Message {
	return types.Message{From: 0, To: to, Payload: &types.Vote{}}
}

// The Ready contract's order: durable state, then messages, then commits,
// then requests, then Advance.
func TestReadyIsCarriedOutInContractOrder(t *testing.T) {
	var journal []string
	e := &scriptEngine{journal: &journal, pending: []types.Ready{{
		SafetyState: []byte{1}, Messages: []types.Message{vote(1), vote(2)},
		Committed: []types.CommittedBlock{{Block: &types.Block{Height: 1}}},
		Evidence:  []*types.DoubleSign{{}},
	}}}
	d := newScripted(t, e, &journalWorld{journal: &journal}, WallClock{}, 0)
	require.NoError(t, d.Drain())
	require.Equal(t, []string{"persist", "send", "send", "commit", "evidence", "advance"}, journal)
	require.Equal(t, uint64(1), d.committed)
	view, leader := d.Position()
	require.Equal(t, uint64(7), view)
	require.Equal(t, types.ValidatorIndex(3), leader)
}

// A failed persist stops the driver before anything of that Ready leaves,
// and for good.
func TestFailedPersistSendsNothing(t *testing.T) {
	var journal []string
	e := &scriptEngine{journal: &journal, pending: []types.Ready{{SafetyState: []byte{1}, Messages: []types.Message{vote(1)}}}}
	d := newScripted(t, e, &journalWorld{journal: &journal, persistErr: errors.New("disk full")}, WallClock{}, 0)
	err := d.Drain()
	require.ErrorContains(t, err, "disk full")
	require.Equal(t, []string{"persist"}, journal)
	require.Equal(t, err, d.Tick(), "a stopped driver stays stopped")
	require.Equal(t, []string{"persist"}, journal, "and touches the engine no more")
}

// An engine that halts stops the driver with its reason.
func TestHaltedEngineStopsTheDriverWithItsReason(t *testing.T) {
	var journal []string
	e := &scriptEngine{journal: &journal, pending: []types.Ready{{SafetyState: []byte{1}}}}
	d := newScripted(t, e, &journalWorld{journal: &journal}, WallClock{}, 0)
	e.halted = errors.New("decided block X conflicts with committed Y")
	err := d.Drain()
	require.ErrorIs(t, err, ErrHalted)
	require.ErrorContains(t, err, "decided block X conflicts with committed Y")
	require.ErrorIs(t, d.Step(vote(0)), ErrHalted)
}

// An engine may halt on an input that leaves it nothing to do (PBFT on a
// checkpoint that contradicts its history): the driver sees that too.
func TestHaltWithoutReadyStopsTheDriver(t *testing.T) {
	var journal []string
	e := &scriptEngine{journal: &journal}
	d := newScripted(t, e, &journalWorld{journal: &journal}, WallClock{}, 0)
	require.NoError(t, d.Drain())
	e.halted = errors.New("a quorum's checkpoint says otherwise")
	err := d.Step(vote(1))
	require.ErrorIs(t, err, ErrHalted)
	require.ErrorContains(t, err, "a quorum's checkpoint says otherwise")
	require.Equal(t, []string{"step"}, journal, "no Ready, and still noticed")
}

// An engine that always has more work is stopped after MaxReadyRounds.
func TestRunawayEngineIsBounded(t *testing.T) {
	var journal []string
	d := newScripted(t, &scriptEngine{journal: &journal, forever: true}, &journalWorld{journal: &journal}, WallClock{}, 0)
	require.ErrorContains(t, d.Drain(), "Ready rounds")
	require.Len(t, journal, 2*MaxReadyRounds, "one persist and one advance per round")
}

// A message the engine addresses to itself is stepped, never sent.
func TestMessagesToSelfAreSteppedLocally(t *testing.T) {
	var journal []string
	e := &scriptEngine{journal: &journal, pending: []types.Ready{{Messages: []types.Message{vote(0), vote(1)}}}}
	d := newScripted(t, e, &journalWorld{journal: &journal}, WallClock{}, 0)
	require.NoError(t, d.Drain())
	require.Equal(t, []string{"send", "advance", "step"}, journal)
	require.Len(t, e.stepped, 1)
}

// An idle leader proposes an empty block only after EmptyBlockInterval;
// with transactions waiting it proposes at once.
func TestIdleLeaderWaitsBeforeAnEmptyBlock(t *testing.T) {
	var journal []string
	clock := &fixedClock{now: time.Unix(0, 0)}
	w := &journalWorld{journal: &journal}
	e := &scriptEngine{journal: &journal, pending: []types.Ready{{PayloadRequest: &types.PayloadRequest{View: 4}}}}
	d := newScripted(t, e, w, clock, 250*time.Millisecond)
	require.NoError(t, d.Drain())
	require.Empty(t, e.proposed, "nothing to propose yet")
	clock.now = clock.now.Add(100 * time.Millisecond)
	require.NoError(t, d.Tick())
	require.Empty(t, e.proposed)
	clock.now = clock.now.Add(150 * time.Millisecond)
	require.NoError(t, d.Tick())
	require.Len(t, e.proposed, 1, "the empty block after the interval")
	require.Equal(t, uint64(4), e.proposed[0].View)

	e.pending = []types.Ready{{PayloadRequest: &types.PayloadRequest{View: 5}}}
	w.waiting = true
	require.NoError(t, d.Tick())
	require.Len(t, e.proposed, 2, "transactions waiting: at once")
}
