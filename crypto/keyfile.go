package crypto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// KeyFileType names the only key format bftkit writes.
const KeyFileType = "bls12-381-eth"

// maxKeyFileBytes bounds what LoadKeyFile reads: a key file is a few hundred
// bytes, so anything larger is not one.
const maxKeyFileBytes = 64 << 10

// keyFile is the JSON form of a validator key. The public key and proof of
// possession are redundant with the secret key; they are written so that an
// operator can copy them into a genesis file, and checked on load so that a
// hand-edited file is caught.
type keyFile struct {
	Type      string `json:"type"`
	SecretKey string `json:"secret_key"`
	PublicKey string `json:"public_key"`
	PoP       string `json:"proof_of_possession"`
}

// ErrKeyFilePermissions means a key file is readable by others than its owner.
var ErrKeyFilePermissions = errors.New("key file must not be accessible by group or others")

// SaveKeyFile writes sk to path with mode 0600. It refuses to overwrite an
// existing file: losing a validator key is not recoverable.
func SaveKeyFile(path string, sk *SecretKey) error {
	pk := sk.PublicKey()
	kf := keyFile{
		Type:      KeyFileType,
		SecretKey: hex.EncodeToString(sk.Bytes()),
		PublicKey: hex.EncodeToString(pk.Bytes()),
		PoP:       hex.EncodeToString(ProvePossession(sk).Bytes()),
	}
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// LoadKeyFile reads a key written by SaveKeyFile. A file readable by group or
// others, in another format, or whose public key or PoP does not match its
// secret key is an error that names the file and the problem.
func LoadKeyFile(path string) (*SecretKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %04o: %w (run: chmod 600 %s)", path, perm, ErrKeyFilePermissions, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("key file %s: larger than %d bytes, not a key file", path, maxKeyFileBytes)
	}
	sk, err := ParseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return sk, nil
}

// ParseKeyFile decodes the JSON contents of a key file.
func ParseKeyFile(data []byte) (*SecretKey, error) {
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if kf.Type != KeyFileType {
		return nil, fmt.Errorf("type: got %q, want %q", kf.Type, KeyFileType)
	}
	skBytes, err := hex.DecodeString(kf.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("secret_key: not hex: %w", err)
	}
	sk, err := SecretKeyFromBytes(skBytes)
	if err != nil {
		return nil, fmt.Errorf("secret_key: %w", err)
	}
	pkBytes, err := hex.DecodeString(kf.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public_key: not hex: %w", err)
	}
	if !bytes.Equal(pkBytes, sk.PublicKey().Bytes()) {
		return nil, errors.New("public_key: does not match secret_key")
	}
	popBytes, err := hex.DecodeString(kf.PoP)
	if err != nil {
		return nil, fmt.Errorf("proof_of_possession: not hex: %w", err)
	}
	pop, err := SignatureFromBytes(popBytes)
	if err != nil {
		return nil, fmt.Errorf("proof_of_possession: %w", err)
	}
	if !VerifyPossession(sk.PublicKey(), pop) {
		return nil, errors.New("proof_of_possession: does not verify for public_key")
	}
	return sk, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
