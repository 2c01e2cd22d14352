// Package toy holds two small engines that exist to test the simulator:
//
//   - Sequencer, a crash-fault sequencer with a fixed leader (validator 0)
//     that commits a block only after a quorum stored it. It is safe under
//     crashes, loss and partitions, and live whenever the leader and a
//     quorum are up and connected: the honest baseline for seeded runs.
//   - Eager, a deliberately unsafe protocol: leaders rotate on timeouts and
//     commit their own proposal at once, without a quorum. Under a partition
//     two leaders commit different blocks at one height. The simulator must
//     catch that (harness validation): if it ever stops catching it, the
//     oracle has gone blind.
//
// Neither signs anything: the signature fields carry zero bytes of the right
// length, so message sizes are realistic. They reuse the wire types of the
// real protocols, as listed in each engine's doc comment.
package toy

import "github.com/bftkit/bftkit/crypto"

// zeroSig stands in for a signature: toy engines trust the simulator.
var zeroSig = make([]byte, crypto.SignatureSize)
