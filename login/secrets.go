package login

// Random ids and secrets: session ids, refresh tokens, states, handles.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("login: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return b
}

func randomString(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

func newSessionID() string { return b32.EncodeToString(randomBytes(sessionIDBytes)) }

// newRefreshToken returns "ghr_" + the session id + a 256-bit secret, lowercase base32.
func newRefreshToken(sessionID string) string {
	return RefreshPrefix + sessionID + b32.EncodeToString(randomBytes(refreshBytes))
}

var (
	sessionIDLen    = b32.EncodedLen(sessionIDBytes)
	refreshTokenLen = len(RefreshPrefix) + sessionIDLen + b32.EncodedLen(refreshBytes)
)

// parseRefreshToken checks a refresh token's shape and returns its session id.
func parseRefreshToken(t string) (string, bool) {
	if len(t) != refreshTokenLen || !strings.HasPrefix(t, RefreshPrefix) {
		return "", false
	}
	body := t[len(RefreshPrefix):]
	for i := 0; i < len(body); i++ {
		if c := body[i]; (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return "", false
		}
	}
	return body[:sessionIDLen], true
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}
