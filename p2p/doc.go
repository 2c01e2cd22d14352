// Package p2p is the node's transport: one libp2p host per validator (TCP,
// Noise, yamux), admitting only the validator set's peers, with two ways to
// reach them:
//
//   - direct streams for point-to-point consensus messages (HotStuff votes
//     to the next leader, block fetches, timeouts), one long-lived stream
//     per peer carrying length-prefixed frames from a bounded queue;
//   - gossipsub topics for proposals and transaction batches, whose topic
//     validators reject undecodable, oversized or badly signed messages
//     before they are relayed.
//
// The package moves bytes and knows nothing of their meaning: the node
// passes a Validator that decodes and verifies each inbound message (in
// parallel, bounded by the node), and p2p delivers only what it accepted.
//
// The package is called p2p, not net as in the design blueprint, so that
// it does not shadow the standard library's net in the files that use both.
package p2p
