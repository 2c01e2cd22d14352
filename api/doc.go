// Package api holds the wire types of a validator's HTTP API: the JSON
// bodies the node serves and clients (the load generator, the bftkit
// command) decode, and the binary transaction-batch format of POST /txs.
//
// It is a leaf package on purpose: it depends on types only, never on
// node, p2p, store or the consensus engines, so a client can speak the
// API without linking a validator. JSON field names are the wire format;
// renaming one breaks every client.
//
// The endpoints:
//
//	GET  /status           Status
//	POST /tx               the raw transaction as the body; TxResponse
//	POST /txs              a batch (EncodeTxBatch) as the body; TxBatchResponse
//	GET  /tx/{hash}        TxResponse
//	GET  /block/{height}   BlockResponse
//	GET  /validators       []ValidatorInfo
//	GET  /query?key=...    QueryResponse
//	GET  /metrics          Prometheus text format
//
// Errors other than a batch's or a transaction's own verdict are answered
// with an ErrorResponse and a 4xx or 5xx status.
package api
