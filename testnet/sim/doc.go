// Package sim is the deterministic simulator every protocol is proven in.
//
// It runs unchanged engines (anything implementing types.Engine) in one
// process and one goroutine, with virtual time in ticks and one seeded random
// source: the same seed and the same code give a byte-identical event log.
// It is modelled on TigerBeetle's VOPR and FoundationDB's simulation:
//
//   - a network model per link: delay, drop, duplication, reordering (from
//     random delays), replay of old messages, symmetric and one-way
//     partitions, and swizzle-clog;
//   - node faults: crash (all that Ready did not make durable is lost),
//     restart from durable state, pause;
//   - Byzantine behaviours as decorators around the honest engine;
//   - an oracle that checks the safety invariants after every step
//     and stops the run with the seed, the step and a trace of the last
//     events;
//   - two phases per seed: a safety phase with faults, then a liveness phase
//     where the network heals and a core of at least 2f+1 honest nodes must
//     commit new blocks and converge.
//
// Every message is encoded with the real codec when sent and decoded when
// delivered, so engines never share memory and every decoder runs.
package sim
