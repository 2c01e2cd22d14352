// Package importrules holds no code, only a test: the dependency rules of
// the module's architecture, checked against `go list -deps` so that a
// forbidden import fails CI instead of waiting for a reviewer.
//
// The rules (see importrules_test.go):
//
//   - the consensus engines (hotstuff, pbft, raft, qc, protocol) depend on
//     nothing of node, p2p, store, api, loadgen or testnet, and import
//     neither time, net nor os: an engine is a deterministic state
//     machine, with no clock, network or disk;
//   - node depends on no simulator (testnet/..., *sim);
//   - config depends on no engine;
//   - loadgen does not depend on node: it speaks the HTTP API (package api).
package importrules
