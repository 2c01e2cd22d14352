// Package protocol is the contract between a consensus engine package and
// the code that drives it (package driver, in the node and in the
// simulator alike): the engine interface a driver needs beyond
// types.Engine, the environment an engine is built from, the descriptor
// each engine package publishes (constructor, gateway verification,
// accepted message types and their classes, leader function, timing
// check), and the Byzantine decorators' common shape.
//
// It imports only the vocabulary (types, qc): engine packages import it,
// and it must never import a driver, a transport, a store or a clock.
package protocol
