package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/bftkit/bftkit/api"
)

// apiTimeout bounds one Status or Block call.
const apiTimeout = 5 * time.Second

// apiClient is the client behind Status and Block, for tools other than
// the load itself (the testnet launcher's status lines and summary).
var apiClient = newClient(1, 1)

// Status reads a validator's GET /status.
func Status(ctx context.Context, endpoint string) (api.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	return apiClient.status(ctx, endpoint)
}

// Block reads a validator's GET /block/{height}; a height it has not
// committed is an error.
func Block(ctx context.Context, endpoint string, height uint64) (api.BlockResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	b, found, err := apiClient.block(ctx, endpoint, height)
	if err == nil && !found {
		err = fmt.Errorf("%s has no block at height %d", endpoint, height)
	}
	return b, err
}
