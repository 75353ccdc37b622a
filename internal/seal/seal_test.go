package seal

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newBox(t *testing.T) *Box {
	t.Helper()
	key, enc, err := GenerateKey()
	require.NoError(t, err)
	parsed, err := ParseKey(enc)
	require.NoError(t, err)
	require.Equal(t, key, parsed)
	b, err := New(key)
	require.NoError(t, err)
	return b
}

// B5: a secret round-trips for its own row and the ciphertext does not contain it.
func TestSealOpen_B5(t *testing.T) {
	b := newBox(t)
	ct, err := b.SealString("bucket:acme/main", "hmac-secret-value")
	require.NoError(t, err)
	require.False(t, bytes.Contains(ct, []byte("hmac-secret-value")))
	pt, err := b.OpenString("bucket:acme/main", ct)
	require.NoError(t, err)
	require.Equal(t, "hmac-secret-value", pt)

	again, err := b.SealString("bucket:acme/main", "hmac-secret-value")
	require.NoError(t, err)
	require.NotEqual(t, ct, again, "a fresh nonce every time")
}

// B5: a ciphertext copied to another row fails to decrypt; so does one under another
// key, a flipped bit, a truncation, or an empty row id.
func TestSealBoundToRow_B5(t *testing.T) {
	b := newBox(t)
	ct, err := b.Seal("row-1", []byte("secret"))
	require.NoError(t, err)
	_, err = b.Open("row-2", ct)
	require.ErrorIs(t, err, ErrOpen)
	_, err = b.Open("row-1x", ct)
	require.ErrorIs(t, err, ErrOpen)
	_, err = b.Open("", ct)
	require.ErrorIs(t, err, ErrOpen)

	_, err = newBox(t).Open("row-1", ct)
	require.ErrorIs(t, err, ErrOpen)

	for i := range ct {
		bad := append([]byte(nil), ct...)
		bad[i] ^= 0x01
		_, err = b.Open("row-1", bad)
		require.ErrorIs(t, err, ErrOpen, "bit flipped at %d", i)
	}
	for n := 0; n < len(ct); n++ {
		_, err = b.Open("row-1", ct[:n])
		require.ErrorIs(t, err, ErrOpen, "truncated to %d", n)
	}
	_, err = b.Seal("", []byte("x"))
	require.Error(t, err)
}

func TestParseKey_B5(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb}, KeyLen)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		got, err := ParseKey(" " + enc.EncodeToString(key) + "\n")
		require.NoError(t, err)
		require.Equal(t, key, got)
	}
	_, err := ParseKey(base64.StdEncoding.EncodeToString(key[:16]))
	require.ErrorContains(t, err, "16 bytes")
	secretish := "not base64 at all!!"
	_, err = ParseKey(secretish)
	require.Error(t, err)
	require.False(t, strings.Contains(err.Error(), secretish), "the error never repeats the value")
	_, err = New(key[:31])
	require.Error(t, err)
}
