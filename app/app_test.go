package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNewOnMemoryServesTheAPI builds the whole service on the in-memory default, as a
// bare `gatehouse serve` does, and serves requests through Handler: activation (P1),
// a second activation refused (409), and a check by the new admin.
func TestNewOnMemoryServesTheAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cfg := DefaultConfig()
	cfg.Stderr, cfg.Version = &stderr, "test-version"
	a, err := New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, a.Close()) })
	require.Contains(t, stderr.String(), "EVERYTHING IS EPHEMERAL", "the banner of the memory default")
	require.Contains(t, stderr.String(), `"ephemeral":true`)

	h := a.Handler()
	do := func(method, path, token string, body any) *httptest.ResponseRecorder {
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req := httptest.NewRequest(method, path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	require.Equal(t, http.StatusOK, do("GET", "/readyz", "", nil).Code)
	rec := do("GET", "/api/iam/version", "", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "test-version")

	rec = do("POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var act struct{ Token string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &act))
	require.NotEmpty(t, act.Token)
	require.Equal(t, http.StatusConflict, do("POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:other"}).Code)

	rec = do("POST", "/api/v1/check", act.Token, map[string]string{"resource": "platform:root", "permission": "super_admin"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"allowed":true`)
	rec = do("GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.True(t, strings.Contains(rec.Body.String(), "go_goroutines"), "the Go collector is registered")

	require.NoError(t, a.Close())
	require.NoError(t, a.Close(), "Close twice is safe")
}

func TestNewRefusesABadConfigNamingTheField(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTPAddr = "nope"
	a, err := New(context.Background(), cfg)
	require.Nil(t, a)
	var fe *FieldError
	require.True(t, errors.As(err, &fe))
	require.Equal(t, "http-addr", fe.Field)
}

// TestNewFailsClosedWhenTheDatabaseIsDown: a database that does not answer fails New, which
// returns an error rather than a half-built App.
func TestNewFailsClosedWhenTheDatabaseIsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := DefaultConfig()
	cfg.DatabaseURL = "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"
	a, err := New(ctx, cfg)
	require.Error(t, err)
	require.Nil(t, a)
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	a, err := New(ctx, cfg)
	require.NoError(t, err)
	defer a.Close()
	ln, err := a.Listen(ctx)
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(runCtx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	stop()
	require.NoError(t, <-done)
}

// TestNewClosesWhatItOpenedWhenSpiceDBIsDown: the store and the engine open, the schema
// write fails (fail closed), and New closes what it opened instead of returning half a
// service.
func TestNewClosesWhatItOpenedWhenSpiceDBIsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := DefaultConfig()
	cfg.SpiceDBEndpoint, cfg.SpiceDBToken, cfg.SpiceDBInsecure = "127.0.0.1:1", "key", true
	a, err := New(ctx, cfg)
	require.Error(t, err)
	t.Log(err)
	require.Nil(t, a)
}

func TestCloseRunsInReverseOrderOnce(t *testing.T) {
	var order []int
	a := &App{}
	for i := range 3 {
		a.onClose(func() error { order = append(order, i); return nil })
	}
	a.onClose(func() error { return errors.New("boom") })
	require.ErrorContains(t, a.Close(), "boom")
	require.ErrorContains(t, a.Close(), "boom", "the same answer the second time")
	require.Equal(t, []int{2, 1, 0}, order, "reverse order, once")
}
