// Package tokens mints and verifies Gatehouse's bearer tokens: robot, session, API-key,
// scoped and pipeline tokens all share one format and one verification path.
//
// A token is "gth_" + id + secret + checksum, all lowercase base32:
//
//	gth_ 4bxq7k2mfa3kd9zq <52 chars of 256-bit secret> <7-char CRC-32>
//
// The fixed prefix lets secret scanners find leaked tokens; the checksum lets a typo or a
// truncated paste be refused before any lookup. Only the SHA-256 of the whole token is
// stored, found by its id and compared in constant time (against a dummy hash when the id
// is unknown, so that timing does not tell whether an id exists).
//
// Tokens have a lineage: a token minted by another (MintRequest.Parent) records its
// parent, never outlives it (its expiry is capped, Minted.Capped), and is refused once any
// ancestor is missing, revoked or expired. Chains are at most MaxLineageDepth long.
package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
)

// Prefix starts every Gatehouse token.
const Prefix = "gth_"

const (
	idBytes     = 10 // 80-bit public id: 16 base32 chars
	secretBytes = 32 // 256-bit secret: 52 base32 chars
	idLen       = 16
	secretLen   = 52
	sumLen      = 7
	tokenLen    = len(Prefix) + idLen + secretLen + sumLen
)

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ErrMalformed is returned for strings that are not well-formed Gatehouse tokens.
var ErrMalformed = errors.New("malformed token")

// generate returns a new token and its id.
func generate() (token, id string) {
	raw := make([]byte, idBytes+secretBytes)
	if _, err := rand.Read(raw); err != nil {
		panic("tokens: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	id = b32.EncodeToString(raw[:idBytes])
	body := id + b32.EncodeToString(raw[idBytes:])
	return Prefix + body + checksum(body), id
}

// checksum is the CRC-32 (IEEE) of body in base32, always sumLen characters.
func checksum(body string) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.ChecksumIEEE([]byte(body)))
	return b32.EncodeToString(b[:])
}

// Parse checks a token's shape and checksum and returns its id. It does no lookup.
func Parse(token string) (id string, err error) {
	if len(token) != tokenLen || !strings.HasPrefix(token, Prefix) {
		return "", ErrMalformed
	}
	body := token[len(Prefix) : len(token)-sumLen]
	for i := 0; i < len(body); i++ {
		c := body[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return "", ErrMalformed
		}
	}
	if checksum(body) != token[len(token)-sumLen:] {
		return "", ErrMalformed
	}
	return body[:idLen], nil
}

// Hash is the stored form of a token.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
