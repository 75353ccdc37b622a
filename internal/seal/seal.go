// Package seal encrypts secrets at rest (MISSION B5): AES-256-GCM under a 32-byte key from
// configuration, with the id of the row that holds the secret (and the column, if a row
// holds several) bound in as additional data, so a ciphertext copied to another row or
// column fails to decrypt instead of handing one bucket config's keys to another.
//
// A sealed value is: version byte (1) | 12-byte random nonce | ciphertext and tag.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeyLen is the key length of AES-256.
const KeyLen = 32

const (
	version   byte = 1
	nonceLen       = 12
	adContext      = "gatehouse/seal/v1\x00"
)

// ErrOpen is every failure to open a sealed value: wrong key, wrong row, or tampering.
// It says nothing more, on purpose.
var ErrOpen = errors.New("seal: cannot decrypt: wrong key, wrong row or damaged value")

// Box seals and opens values under one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeyLen {
		return nil, fmt.Errorf("seal: the key must be %d bytes, not %d", KeyLen, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Box{aead: aead}, nil
}

// ParseKey decodes a key from configuration: standard or URL-safe base64 of 32 bytes,
// padded or not. The error never repeats the value.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeyLen {
				return nil, fmt.Errorf("seal: the key decodes to %d bytes; it must be %d (openssl rand -base64 32)", len(k), KeyLen)
			}
			return k, nil
		}
	}
	return nil, errors.New("seal: the key is not base64 (make one with: openssl rand -base64 32)")
}

// GenerateKey returns a new random key and its base64 form, for an in-memory default that
// announces it.
func GenerateKey() (key []byte, encoded string, err error) {
	key = make([]byte, KeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, "", fmt.Errorf("seal: %w", err)
	}
	return key, base64.StdEncoding.EncodeToString(key), nil
}

// Seal encrypts plaintext for the row rowID. An empty rowID is refused: a secret must be
// bound to its row.
func (b *Box) Seal(rowID string, plaintext []byte) ([]byte, error) {
	if rowID == "" {
		return nil, errors.New("seal: a row id is required")
	}
	out := make([]byte, 1+nonceLen, 1+nonceLen+len(plaintext)+b.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1 : 1+nonceLen]); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return b.aead.Seal(out, out[1:1+nonceLen], plaintext, additionalData(rowID)), nil
}

// Open decrypts a value sealed for rowID. Any mismatch (key, row, a flipped bit) is
// ErrOpen.
func (b *Box) Open(rowID string, sealed []byte) ([]byte, error) {
	if rowID == "" || len(sealed) < 1+nonceLen+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[1:1+nonceLen], sealed[1+nonceLen:], additionalData(rowID))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// SealString and OpenString are Seal and Open for text secrets.
func (b *Box) SealString(rowID, plaintext string) ([]byte, error) {
	return b.Seal(rowID, []byte(plaintext))
}

// OpenString is Open returning a string.
func (b *Box) OpenString(rowID string, sealed []byte) (string, error) {
	pt, err := b.Open(rowID, sealed)
	return string(pt), err
}

// additionalData binds a value to its row; the context string keeps these values apart
// from any other use of the same key.
func additionalData(rowID string) []byte {
	return []byte(adContext + rowID)
}
