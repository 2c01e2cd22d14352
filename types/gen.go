package types

// The generated *.pb.go files are committed. Their sources are in
// proto/bftkit/types. To regenerate them you need protoc (Debian: apt-get
// install protobuf-compiler; tested with 3.21.12) and the gogoproto plugin at
// the version pinned in go.mod by its `tool` directive:
//
//	go generate ./types
//
//go:generate sh ../proto/generate.sh
