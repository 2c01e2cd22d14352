module github.com/bftkit/bftkit

go 1.26.8

require (
	github.com/cosmos/gogoproto v1.7.2
	github.com/herumi/bls-eth-go-binary v1.36.4
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	google.golang.org/protobuf v1.36.10 // indirect
)

tool github.com/cosmos/gogoproto/protoc-gen-gocosmos
