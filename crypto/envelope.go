// Package crypto seals secret values for coffer.
//
// # Keyring
//
// A keyring holds random 256-bit AES data keys. Each is stored wrapped by a
// gocloud.dev/secrets keeper (a local key, AWS KMS, GCP KMS, Azure Key Vault,
// Vault transit) in one reserved document of the collection; one key is
// active and seals new values. A Keyring unwraps the stored keys once and then
// keeps them in memory, so sealing and opening make no keeper call.
//
// # Envelope
//
// A sealed value is the byte string
//
//	version (1 byte, 1) | data-key id (4 bytes, big endian) | nonce (12 bytes) | ciphertext+tag (16 bytes tag)
//
// sealed with AES-256-GCM under the data key, with a fresh random nonce, and
// with associated data that binds it to its place:
//
//	version (1 byte) | len(project) (4 bytes) | project | len(environment) (4 bytes) | environment |
//	len(key) (4 bytes) | key | created-at (8 bytes, Unix milliseconds) | data-key id (4 bytes)
//
// all integers big endian. A ciphertext copied onto another secret, another
// environment or another project fails to open with ErrDecrypt, and so does
// one copied onto the same key after it was deleted and created again (the
// new record has another creation time), or any modified or truncated
// envelope. Parsing is bounds-checked and never panics. The envelope cannot
// notice a whole record (creation time included) put back from an older
// copy of the store: that is a replay of the record, not a forged value.
//
// # Rotation
//
// Keyring.Rotate adds a data key and makes it active; Keyring.Reseal seals a
// value again under the active key; Keyring.ChangeKeeper re-wraps every data
// key under another keeper without touching any sealed value.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrDecrypt reports a sealed value that could not be opened.
var ErrDecrypt = errors.New("cannot decrypt secret value")

// Version is the envelope format this package writes.
const Version = 1

const (
	idSize     = 4
	nonceSize  = 12
	tagSize    = 16
	headerSize = 1 + idSize + nonceSize
	// Overhead is the number of bytes an envelope adds to a value.
	Overhead = headerSize + tagSize
	// KeySize is the size of a data key in bytes.
	KeySize = 32
)

// Place is where a sealed value belongs; it is bound into the envelope.
type Place struct {
	Project     string
	Environment string
	Key         string
	// CreatedAt is when the secret was created, kept to the millisecond: it
	// tells a secret from an earlier one of the same key that was deleted.
	CreatedAt time.Time
}

// Envelope is a parsed sealed value.
type Envelope struct {
	Version    byte
	KeyID      uint32
	Nonce      []byte
	Ciphertext []byte // includes the GCM tag
}

// Parse splits a sealed value into its parts, checking every bound. It does
// not authenticate: only opening does.
func Parse(sealed []byte) (Envelope, error) {
	if len(sealed) < Overhead {
		return Envelope{}, fmt.Errorf("%w: envelope is %d bytes, shorter than the %d-byte minimum", ErrDecrypt, len(sealed), Overhead)
	}
	if sealed[0] != Version {
		return Envelope{}, fmt.Errorf("%w: unknown envelope version %d", ErrDecrypt, sealed[0])
	}
	return Envelope{
		Version:    sealed[0],
		KeyID:      binary.BigEndian.Uint32(sealed[1 : 1+idSize]),
		Nonce:      sealed[1+idSize : headerSize],
		Ciphertext: sealed[headerSize:],
	}, nil
}

// associatedData binds a ciphertext to its place and data key.
func associatedData(p Place, keyID uint32) []byte {
	ad := make([]byte, 0, 1+3*4+len(p.Project)+len(p.Environment)+len(p.Key)+8+idSize)
	ad = append(ad, Version)
	for _, s := range [...]string{p.Project, p.Environment, p.Key} {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(s)))
		ad = append(ad, s...)
	}
	ad = binary.BigEndian.AppendUint64(ad, uint64(p.CreatedAt.UnixMilli()))
	return binary.BigEndian.AppendUint32(ad, keyID)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("data key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext for p under aead, the data key keyID.
func seal(aead cipher.AEAD, keyID uint32, p Place, plaintext []byte) ([]byte, error) {
	out := make([]byte, headerSize, headerSize+len(plaintext)+tagSize)
	out[0] = Version
	binary.BigEndian.PutUint32(out[1:], keyID)
	if _, err := rand.Read(out[1+idSize : headerSize]); err != nil {
		return nil, fmt.Errorf("coffer: read nonce: %w", err)
	}
	return aead.Seal(out, out[1+idSize:headerSize], plaintext, associatedData(p, keyID)), nil
}

// open authenticates and decrypts env for p.
func open(aead cipher.AEAD, env Envelope, p Place) ([]byte, error) {
	plain, err := aead.Open(nil, env.Nonce, env.Ciphertext, associatedData(p, env.KeyID))
	if err != nil {
		return nil, fmt.Errorf("%w: the envelope does not authenticate for this secret", ErrDecrypt)
	}
	return plain, nil
}
