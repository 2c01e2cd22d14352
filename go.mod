module github.com/bftkit/bftkit

go 1.26.8

require (
	github.com/cosmos/gogoproto v1.7.2
	github.com/herumi/bls-eth-go-binary v1.36.4
	github.com/spf13/cobra v1.10.2
	github.com/stretchr/testify v1.11.1
	google.golang.org/protobuf v1.36.10
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

tool github.com/cosmos/gogoproto/protoc-gen-gocosmos
