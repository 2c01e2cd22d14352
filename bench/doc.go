// Package bench measures the protocols: message complexity in the
// deterministic simulator (this file's RunComplexity), with tables, CSV,
// JSON and log-log plots (gonum.org/v1/plot). `bftkit bench` drives it;
// throughput on real processes is the command's (it runs `bftkit testnet`).
package bench
