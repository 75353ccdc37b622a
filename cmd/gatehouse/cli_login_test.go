package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeLogin stands in for POST /api/v1/auth/device and /api/v1/auth/device/token, which
// are not wired into the server yet (T1). pending answers come before the token.
type fakeLogin struct {
	mu      sync.Mutex
	start   map[string]any
	pending []func(w http.ResponseWriter)
	polls   []map[string]string
	started map[string]string
}

func (f *fakeLogin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var in map[string]string
	_ = json.NewDecoder(r.Body).Decode(&in)
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/v1/auth/device":
		f.started = in
		_ = json.NewEncoder(w).Encode(f.start)
	case "/api/v1/auth/device/token":
		f.polls = append(f.polls, in)
		if len(f.pending) > 0 {
			next := f.pending[0]
			f.pending = f.pending[1:]
			next(w)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"token": "gth_new", "expires_at": "2030-01-01T00:00:00Z",
			"refresh_token": "ghr_refresh", "session_id": "s1", "subject": "user:alice@example.com"})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func errAnswer(status int, code string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.WriteHeader(status)
		if code != "" {
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": code}})
		}
	}
}

func TestAuthLogin(t *testing.T) {
	old := pollUnit
	pollUnit = time.Millisecond
	t.Cleanup(func() { pollUnit = old })

	cases := []struct {
		name    string
		args    []string
		stdin   string
		start   map[string]any
		pending []func(http.ResponseWriter)
		wantErr string
		// wantPolls is what each POST /auth/device/token carried.
		wantPolls []map[string]string
		wantShown []string // on stderr
	}{
		{
			name:  "device code: pending, slow_down, 409 and 428 mean wait",
			args:  []string{"--issuer", "google"},
			start: map[string]any{"mode": "device", "handle": "h1", "verification_uri": "https://idp/device", "user_code": "ABCD-EFGH", "interval": 1, "expires_in": 600},
			pending: []func(http.ResponseWriter){errAnswer(400, "authorization_pending"), errAnswer(400, "slow_down"),
				errAnswer(409, ""), errAnswer(428, "")},
			wantPolls: []map[string]string{{"handle": "h1"}, {"handle": "h1"}, {"handle": "h1"}, {"handle": "h1"}, {"handle": "h1"}},
			wantShown: []string{"https://idp/device", "ABCD-EFGH"},
		},
		{
			name:      "copy code",
			stdin:     "  the-code \n",
			start:     map[string]any{"mode": "copy_code", "handle": "h2", "auth_url": "https://idp/auth?x=1", "interval": 5, "expires_in": 600},
			wantPolls: []map[string]string{{"handle": "h2", "code": "the-code"}},
			wantShown: []string{"https://idp/auth?x=1"},
		},
		{
			name:      "--no-browser pastes a code",
			args:      []string{"--no-browser"},
			stdin:     "c0de\n",
			start:     map[string]any{"mode": "device", "handle": "h3", "verification_uri": "https://idp/device", "auth_url": "https://idp/auth", "user_code": "X", "interval": 5},
			wantPolls: []map[string]string{{"handle": "h3", "code": "c0de"}},
			wantShown: []string{"https://idp/auth"},
		},
		{
			name:      "denied",
			start:     map[string]any{"mode": "device", "handle": "h4", "verification_uri": "https://idp/device", "interval": 1},
			pending:   []func(http.ResponseWriter){errAnswer(400, "authorization_pending"), errAnswer(403, "access_denied")},
			wantErr:   "access_denied",
			wantPolls: []map[string]string{{"handle": "h4"}, {"handle": "h4"}},
		},
		{
			name:    "no code pasted",
			start:   map[string]any{"mode": "copy_code", "handle": "h5", "auth_url": "https://idp/auth"},
			wantErr: "no code given",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearClientEnv(t)
			path := filepath.Join(t.TempDir(), "gh", "config.yaml")
			t.Setenv("GATEHOUSE_CONFIG", path)
			fake := &fakeLogin{start: c.start, pending: c.pending}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			out, stderr, err := runCmd(t, c.stdin, append([]string{"auth", "login", "--addr", srv.URL}, c.args...)...)
			require.Equal(t, c.wantPolls, fake.polls)
			cfg, lerr := loadConfig(path)
			require.NoError(t, lerr)
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				require.Empty(t, cfg.Token, "nothing saved on failure")
				return
			}
			require.NoError(t, err, stderr)
			for _, s := range c.wantShown {
				require.Contains(t, stderr, s)
			}
			require.Contains(t, out, "user:alice@example.com")
			require.Equal(t, cliConfig{Addr: srv.URL, Token: "gth_new", RefreshToken: "ghr_refresh"}, cfg)
			if len(c.args) > 1 && c.args[0] == "--issuer" {
				require.Equal(t, map[string]string{"issuer": c.args[1]}, fake.started)
			}
		})
	}
}

// logout ends the session when the server has the route, tolerates a 404 when it has
// not, and always removes the token from the file.
func TestAuthLogout(t *testing.T) {
	for _, status := range []int{200, 404} {
		clearClientEnv(t)
		path := filepath.Join(t.TempDir(), "config.yaml")
		t.Setenv("GATEHOUSE_CONFIG", path)
		var gotAuth string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/auth/logout" {
				gotAuth = r.Header.Get("Authorization")
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte("{}"))
		}))
		require.NoError(t, saveConfig(path, cliConfig{Addr: srv.URL, Token: "gth_saved", RefreshToken: "r"}))
		_, _, err := runCmd(t, "", "auth", "logout")
		srv.Close()
		require.NoError(t, err)
		require.Equal(t, "Bearer gth_saved", gotAuth)
		cfg, err := loadConfig(path)
		require.NoError(t, err)
		require.Equal(t, cliConfig{Addr: srv.URL}, cfg)
	}
}
