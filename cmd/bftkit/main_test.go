package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestKeysGenThenShow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "validator.key")
	out, err := run(t, "keys", "gen", "--out", path)
	require.NoError(t, err)
	require.Contains(t, out, "public key: ")
	pub := strings.TrimSpace(out[strings.Index(out, "public key: ")+len("public key: "):])

	shown, err := run(t, "keys", "show", path)
	require.NoError(t, err)
	require.Contains(t, shown, `"pub_key": "`+pub+`"`)
	require.Contains(t, shown, `"proof_of_possession"`)

	_, err = run(t, "keys", "gen", "--out", path)
	require.Error(t, err, "an existing key file must not be overwritten")

	require.NoError(t, os.Chmod(path, 0o640))
	_, err = run(t, "keys", "show", path)
	require.ErrorContains(t, err, "chmod 600")
}

func TestVersion(t *testing.T) {
	out, err := run(t, "version")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "bftkit "))
}
