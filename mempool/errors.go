package mempool

import (
	"errors"
	"fmt"
)

// Admission errors. Add wraps them with details; test with errors.Is. The
// HTTP layer maps them to status codes, so each names one cause.
var (
	// ErrMempoolFull: admitting the tx would exceed MaxTxs or MaxBytes.
	// Retrying later may succeed.
	ErrMempoolFull = errors.New("mempool full")
	// ErrTxTooLarge: the tx exceeds Config.MaxTxBytes. Retrying never helps.
	ErrTxTooLarge = errors.New("tx too large")
	// ErrEmptyTx: a zero-byte tx. It would escape the MaxBytes bound and
	// no application can mean it.
	ErrEmptyTx = errors.New("empty tx")
	// ErrDuplicate: the tx is already pending, is being admitted by a
	// concurrent Add, or committed recently (per the outcome cache).
	ErrDuplicate = errors.New("duplicate tx")
	// ErrTooManySubscribers: Config.MaxSubscribers Subscribe calls are
	// outstanding.
	ErrTooManySubscribers = errors.New("too many subscribers")
	// ErrHeightOrder: Update was called with a height not above the last.
	ErrHeightOrder = errors.New("update height out of order")
)

// RejectedError is returned by Add when the application's CheckTx rejects
// the tx; Code and Log are the application's.
type RejectedError struct {
	Code uint32
	Log  string
}

func (e *RejectedError) Error() string {
	if e.Log == "" {
		return fmt.Sprintf("tx rejected by CheckTx: code %d", e.Code)
	}
	return fmt.Sprintf("tx rejected by CheckTx: code %d: %s", e.Code, e.Log)
}
