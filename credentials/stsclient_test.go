package credentials

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// B1, B6: the STS client refuses, at connection time, the addresses a bucket endpoint
// may not have (link-local, metadata), whatever name led there; loopback, where
// on-premises stores and the tests' MinIO live, stays reachable.
func TestSTSClientNeverDialsMetadata(t *testing.T) {
	c := stsHTTPClient()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:80/", "http://0.0.0.0:80/"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		require.NoError(t, err)
		start := time.Now()
		_, err = c.Do(req)
		require.ErrorContains(t, err, "metadata address", u)
		require.Less(t, time.Since(start), time.Second, "%s: refused before any packet, not timed out", u)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer srv.Close()
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusTeapot, resp.StatusCode)
}
