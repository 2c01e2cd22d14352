package types

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The generated decoders allocate per element of a repeated field: an empty
// transaction costs 2 bytes on the wire and about 130 in memory, so a 9 MB
// message of empty transactions would cost ~600 MB to decode before
// ValidateBasic could refuse it. prescan counts repeated elements on the
// raw bytes first, allocating nothing.

// repeatedLimit caps the elements of Field inside the sub-message reached
// through Path (field numbers from the payload's top level).
type repeatedLimit struct {
	Path  []protowire.Number
	Field protowire.Number
	Max   int
	Name  string
	// Packed marks a packed scalar field (one occurrence, many varints);
	// otherwise each occurrence is one element (repeated bytes).
	Packed bool
}

// Field numbers from proto/bftkit/types/*.proto.
const (
	fieldProposalBlock   protowire.Number = 1
	fieldProposalTC      protowire.Number = 2
	fieldPrePrepareBlock protowire.Number = 3
	fieldResponseBlock   protowire.Number = 2
	fieldTimeoutLastTC   protowire.Number = 5
	fieldBlockTxs        protowire.Number = 6
	fieldTCHighQCViews   protowire.Number = 3
	fieldVCPrepared      protowire.Number = 4
	fieldNVViewChanges   protowire.Number = 3
	fieldNVPrePrepares   protowire.Number = 4
)

// maxNewViewPrepared bounds the prepared certificates of all view-changes
// in one new-view together (n view-changes of up to L each).
const maxNewViewPrepared = 1 << 16

var repeatedLimits = map[MsgType][]repeatedLimit{
	MsgHotStuffProposal: {
		{Path: []protowire.Number{fieldProposalBlock}, Field: fieldBlockTxs, Max: MaxBlockTxs, Name: "block.txs"},
		{Path: []protowire.Number{fieldProposalTC}, Field: fieldTCHighQCViews, Max: MaxValidators, Name: "tc.high_qc_views", Packed: true},
	},
	MsgPBFTPrePrepare: {
		{Path: []protowire.Number{fieldPrePrepareBlock}, Field: fieldBlockTxs, Max: MaxBlockTxs, Name: "block.txs"},
	},
	MsgPBFTViewChange: {
		{Field: fieldVCPrepared, Max: MaxPBFTWindow, Name: "prepared"},
	},
	MsgPBFTNewView: {
		{Field: fieldNVViewChanges, Max: MaxValidators, Name: "view_changes"},
		{Field: fieldNVPrePrepares, Max: MaxPBFTWindow, Name: "pre_prepares"},
		{Path: []protowire.Number{fieldNVViewChanges}, Field: fieldVCPrepared, Max: maxNewViewPrepared, Name: "view_changes.prepared"},
	},
	MsgHotStuffTimeout: {
		{Path: []protowire.Number{fieldTimeoutLastTC}, Field: fieldTCHighQCViews, Max: MaxValidators, Name: "last_tc.high_qc_views", Packed: true},
	},
	MsgBlockResponse: {
		{Path: []protowire.Number{fieldResponseBlock}, Field: fieldBlockTxs, Max: MaxBlockTxs, Name: "block.txs"},
	},
}

var errMalformed = errors.New("malformed protobuf")

// prescan checks the repeated-field limits of payload type t.
func prescan(t MsgType, payload []byte) error {
	for _, l := range repeatedLimits[t] {
		n, err := countRepeated(payload, l)
		if err != nil {
			return err
		}
		if n > l.Max {
			return fmt.Errorf("%s: %d elements exceed the limit of %d", l.Name, n, l.Max)
		}
	}
	return nil
}

// countRepeated counts the elements of field in the sub-messages reached
// through path. Occurrences of an embedded message are merged by protobuf,
// so counts add up across them; packed scalars count one per varint.
func countRepeated(data []byte, l repeatedLimit) (int, error) {
	count := 0
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return 0, errMalformed
		}
		data = data[n:]
		m := protowire.ConsumeFieldValue(num, typ, data)
		if m < 0 {
			return 0, errMalformed
		}
		value := data[:m]
		data = data[m:]
		switch {
		case len(l.Path) > 0 && num == l.Path[0] && typ == protowire.BytesType:
			inner, _ := protowire.ConsumeBytes(value)
			sub := l
			sub.Path = l.Path[1:]
			c, err := countRepeated(inner, sub)
			if err != nil {
				return 0, err
			}
			count += c
		case len(l.Path) == 0 && num == l.Field:
			count += elements(typ, value, l.Packed)
		}
	}
	return count, nil
}

// elements is how many values one occurrence of a repeated field holds:
// one, unless it is a packed run of varints, which holds one per varint.
func elements(typ protowire.Type, value []byte, packed bool) int {
	if !packed || typ != protowire.BytesType {
		return 1
	}
	run, _ := protowire.ConsumeBytes(value)
	c := 0
	for _, b := range run {
		if b < 0x80 {
			c++
		}
	}
	return c
}
