// Package pbft is Practical Byzantine Fault Tolerance (Castro and Liskov,
// OSDI'99 §4; TOCS 2002 where it refines view change) as a deterministic
// state machine: no goroutines, clock, network or disk (see types.Engine).
//
// The sequence number is the block height: the primary of view v assigns
// one block (a batch of transactions) to each sequence number, and several
// may be in flight inside the watermark window h < n ≤ H = h + L. Blocks
// do not chain through ParentID (it is zero): PBFT orders by sequence
// number, and a view change may fill a number with a null block, which no
// earlier block could have named as its parent.
//
//   - normal case (§4.2, normal.go): pre-prepare, prepare, commit; a block
//     executes when it is committed-local and every lower number executed;
//   - checkpoints (§4.3, checkpoint.go): every K numbers a replica
//     broadcasts the digest of its history; 2f+1 matching make it stable
//     and the log at and below it is discarded. A replica that falls behind
//     fetches committed blocks, each with its commit certificate, up to a
//     checkpoint that f+1 replicas vouch for;
//   - view change (§4.4, viewchange.go): view-changes carry the stable
//     checkpoint proof C and the prepared certificates P; the new primary
//     sends V and O; backups recompute O and reject a new-view that
//     differs. Timeouts double with each successive view change (§4.5.2).
//
// Every vote is counted once per distinct sender and matched on view,
// sequence number and digest (rules.go). Durability follows the
// types.Ready contract: the view, accepted pre-prepares, prepared
// certificates, sent commits and the stable checkpoint are in
// Ready.SafetyState (and pre-prepared blocks in Ready.Blocks) before any
// message that depends on them leaves.
package pbft
