// Package hotstuff is chained (pipelined) HotStuff as a deterministic state
// machine: no goroutines, clock, network or disk (see types.Engine).
//
// The protocol follows HotStuff (Yin et al., PODC'19, Algorithm 3, "chained
// HotStuff") for voting, locking and committing, and Jolteon / DiemBFT v4 for
// the pacemaker: timeouts that carry the sender's high QC, timeout
// certificates (TCs), and the rule that a proposal following a TC extends
// the highest QC the TC reports. Every safety rule is one function in
// safety.go, citing its source.
//
// Linear communication: a proposal is broadcast by the leader of its view;
// votes go only to the next leader, who aggregates them into one QC (a
// signer bitmap and one aggregate signature) and carries it in its own
// proposal. In steady state a block costs 2(n−1) messages.
//
// Durability follows the types.Ready contract: last voted view, last
// proposed view, the timeout sent, locked QC and high QC are in
// Ready.SafetyState, and blocks voted for are in Ready.Blocks, before any
// vote, proposal or timeout that depends on them leaves.
package hotstuff
