// Package raftbyz is Raft's Byzantine catalogue: decorators around the honest
// engine that rewrite what leaves it. The simulator runs them in seeded
// runs and a node runs them behind --byzantine, from this one package, so
// the node never imports the simulator and the honest engine carries no
// test hooks.
package raftbyz
