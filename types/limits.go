package types

// Limits on everything a peer can send. The codec checks the message size
// before decoding and the counts of repeated fields on the raw bytes
// (prescan.go), so that decoding allocates at most a small multiple of the
// message size; ValidateBasic checks the rest after decoding.
const (
	// MaxValidators bounds the validator set (and so every bitmap).
	MaxValidators = 1024
	// MaxChainIDLen bounds the chain ID carried in every sign-bytes string.
	MaxChainIDLen = 64
	// MaxTxBytes bounds one transaction.
	MaxTxBytes = 64 << 10
	// MaxBlockTxs bounds the transactions in one block.
	MaxBlockTxs = 20_000
	// MaxBlockBytes bounds the sum of a block's transaction sizes.
	MaxBlockBytes = 8 << 20
	// MaxAppHashBytes bounds an application hash.
	MaxAppHashBytes = 64
	// MaxMessageBytes bounds one encoded envelope: a full block plus room
	// for its certificate and framing.
	MaxMessageBytes = MaxBlockBytes + 1<<20
)
