#!/bin/sh
# Regenerates the gogoproto Go code for the .proto files under proto/.
# Run from anywhere inside the module: go generate ./types
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
go build -o bin/protoc-gen-gocosmos github.com/cosmos/gogoproto/protoc-gen-gocosmos
gogo=$(go list -m -f '{{.Dir}}' github.com/cosmos/gogoproto)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
protoc --plugin=protoc-gen-gocosmos=bin/protoc-gen-gocosmos \
  -Iproto -I"$gogo" -I"$gogo/protobuf" \
  --gocosmos_out="$out" \
  proto/bftkit/types/types.proto proto/bftkit/types/messages.proto
# The plugin writes by Go import path; move the files into this module.
cp "$out"/github.com/bftkit/bftkit/types/*.pb.go types/
# Block's Go type is hand-written (types/block.go) and carries its ID once
# computed. Its Unmarshal, which must forget that ID before decoding into the
# block, wraps the generated decoder, renamed here to unmarshalFields.
sed -i 's/^func (m \*Block) Unmarshal(dAtA \[\]byte) error {$/func (m *Block) unmarshalFields(dAtA []byte) error {/' types/types.pb.go
[ "$(grep -c '^func (m \*Block) unmarshalFields(dAtA \[\]byte) error {$' types/types.pb.go)" = 1 ] ||
  { echo "generate.sh: Block's generated Unmarshal not found to rename" >&2; exit 1; }
