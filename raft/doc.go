// Package raft is the crash-fault Raft mode, for comparison with the BFT
// engines: go.etcd.io/raft/v3's RawNode behind the engine contract
// (types.Engine). It tolerates ⌊(n−1)/2⌋ crashed validators out of n (a
// majority quorum), and no Byzantine one: that is the point of comparing.
//
//   - A block is the data of one log entry. The leader builds it on the last
//     block of its own log (height + 1, that block's ID as parent), which
//     is consistent because two logs that agree on an entry agree on all
//     entries before it (Raft's Log Matching property).
//   - HardState, the log and the snapshot point are in Ready.SafetyState
//     (entries by block ID; blocks in Ready.Blocks) and are durable before
//     any message leaves; committed entries become committed blocks.
//   - PreVote and CheckQuorum are on; ticks come from the driver, and
//     election timeouts from the seeded Config.Rand (determinism.go).
//   - Raft messages from peers are checked before etcd raft sees them
//     (validate.go): etcd raft panics on input that contradicts its log,
//     and a confused peer must cost an error, not this validator.
//   - The log is compacted RetainEntries behind the applied entry. A
//     follower that needs compacted entries gets a snapshot naming the last
//     block before it, and fetches the blocks it lacks by ID (BlockRequest)
//     from the snapshot's sender.
package raft
