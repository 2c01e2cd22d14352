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
	// MaxFailedLeaders bounds the failed leaders a block records: the
	// leaders of the last views before it that produced no block.
	MaxFailedLeaders = 16
	// MaxMessageBytes bounds one encoded envelope: a full block plus room
	// for its certificate and framing.
	MaxMessageBytes = MaxBlockBytes + 1<<20
)

// The payload a leader proposes at most per block, by default (each
// engine's Config can change it within the limits above). Per-block costs
// (signatures, an fsync per step, round trips) are paid per block
// whatever its size, so under load larger blocks carry more transactions
// per second: on the 2-core benchmark machine, 4,000 rather than 1,000
// transactions per block raised HotStuff's saturation from about 14,000
// to 22,000 tx/s (docs/BENCHMARKS.md). A light load still makes small
// blocks: a leader proposes what it has. Peers' blocks may be larger, up
// to MaxBlockBytes, unless the engine refuses them (PBFT refuses blocks
// beyond its own Config; HotStuff and Raft accept any valid block).
const (
	DefaultBlockTxs   = 4000
	DefaultBlockBytes = 1 << 20
)
