// Package driver carries out what a consensus engine asks for, the same
// way in a real validator (package node) and in the deterministic
// simulator (package testnet/sim): the replica that runs in production
// runs unchanged under the simulator's faults.
//
// Three parts, each behind small interfaces so that the node plugs in
// LevelDB, libp2p, the application and the wall clock, and the simulator
// plugs in its in-memory disk, its virtual network, its oracle and its
// virtual clock:
//
//   - Driver (driver.go) owns the engine. After every input it drains
//     Ready in the contract's order (persist, send, commit, requests,
//     Advance), bounds the rounds one input may cause, watches Halted,
//     and paces the payloads a leader proposes.
//   - Gateway (gateway.go) checks every inbound message before the
//     engine sees it: sender binding, the protocol's message types,
//     cheap prechecks by message class, signature verification with a
//     bound on concurrent work, and the application's ProcessProposal.
//   - BlockServer (blockserver.go) answers peers' block fetches from
//     storage, within a budget per peer.
//
// What is protocol-specific comes from the engine package's
// protocol.Descriptor; this package has no protocol type switches.
// The Driver is not safe for concurrent use: one goroutine owns it. The
// Gateway and BlockServer are.
package driver
