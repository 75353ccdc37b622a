package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// script answers the n-th request (0-based) with answers[n], the last one repeating.
type script struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter, r *http.Request)
	reqs    []*http.Request
	bodies  []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.reqs)
	b, _ := io.ReadAll(r.Body)
	s.reqs = append(s.reqs, r)
	s.bodies = append(s.bodies, string(b))
	a := s.answers[min(n, len(s.answers)-1)]
	s.mu.Unlock()
	a(w, r)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func jsonAnswer(code int, v any) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
}

// hangUp closes the connection without an answer: a connection error for the client.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// newTest returns a client of a scripted server whose sleeps are recorded, not slept.
func newTest(t *testing.T, answers ...func(http.ResponseWriter, *http.Request)) (*Client, *script, *[]time.Duration) {
	t.Helper()
	s := &script{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := New(srv.URL+"/", WithToken("gth_test"))
	var slept []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	return c, s, &slept
}

var okCheck = jsonAnswer(200, CheckResponse{Allowed: true, CheckedAt: "tok"})

func TestErrorCarriesTheAPIsCodeFieldAndDetails(t *testing.T) {
	body := ErrorBody{Error: ErrorDetail{Code: "invalid_argument", Message: "is required", Field: "resource", Details: map[string]any{"known": []any{"repo"}}}}
	c, s, _ := newTest(t, jsonAnswer(400, body))
	_, err := c.Check(t.Context(), CheckRequest{Permission: "read"})
	var ae *Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, &Error{Status: 400, Code: "invalid_argument", Message: "is required", Field: "resource", Details: map[string]any{"known": []any{"repo"}}}, ae)
	require.Equal(t, "resource: is required (HTTP 400, invalid_argument)", err.Error())
	require.Equal(t, 1, s.count(), "a 400 is not retried")

	c, _, _ = newTest(t, status(404))
	_, err = c.Org(t.Context(), "acme")
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 404, ae.Status)
	require.Empty(t, ae.Code)
	require.Equal(t, "HTTP 404 from GET /api/v1/orgs/acme", err.Error())
}

func TestRequestsCarryTokenUserAgentAndJSON(t *testing.T) {
	t.Setenv(TokenEnv, "gth_from_env")
	s := &script{answers: []func(http.ResponseWriter, *http.Request){okCheck}}
	srv := httptest.NewServer(s)
	defer srv.Close()

	_, err := New(srv.URL).Check(t.Context(), CheckRequest{Resource: "repo:acme/x", Permission: "read"})
	require.NoError(t, err)
	r := s.reqs[0]
	require.Equal(t, "Bearer gth_from_env", r.Header.Get("Authorization"), "T5: GATEHOUSE_TOKEN")
	require.Equal(t, DefaultUserAgent, r.Header.Get("User-Agent"))
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.JSONEq(t, `{"resource":"repo:acme/x","permission":"read"}`, s.bodies[0])

	_, err = New(srv.URL, WithToken("gth_opt"), WithUserAgent("gatehouse-cli/1"), WithHTTPClient(srv.Client())).Whoami(t.Context())
	require.NoError(t, err)
	r = s.reqs[1]
	require.Equal(t, "Bearer gth_opt", r.Header.Get("Authorization"), "the option beats the environment")
	require.Equal(t, "gatehouse-cli/1", r.Header.Get("User-Agent"))
	require.Equal(t, "/api/v1/whoami", r.URL.Path)

	_, err = New(srv.URL, WithToken("")).Health(t.Context())
	require.NoError(t, err)
	require.Empty(t, s.reqs[2].Header.Get("Authorization"))
}

func TestIdempotentCallsRetryWithBackoff(t *testing.T) {
	for _, code := range []int{502, 503, 504} {
		c, s, slept := newTest(t, status(code), status(code), okCheck)
		res, err := c.Check(t.Context(), CheckRequest{Resource: "repo:acme/x", Permission: "read"})
		require.NoError(t, err, code)
		require.True(t, res.Allowed)
		require.Equal(t, 3, s.count())
		require.Len(t, *slept, 2)
		require.Less(t, (*slept)[0], DefaultRetry.BaseDelay, "first delay: jitter below the base")
		require.Less(t, (*slept)[1], 2*DefaultRetry.BaseDelay, "second delay: below twice the base")
		require.Equal(t, s.bodies[0], s.bodies[2], "the body is sent again, whole")
	}

	// Connection errors too.
	c, s, _ := newTest(t, hangUp, hangUp, jsonAnswer(200, OrgsResponse{Orgs: []Org{{Name: "acme"}}}))
	orgs, err := c.Orgs(t.Context())
	require.NoError(t, err)
	require.Equal(t, "acme", orgs.Orgs[0].Name)
	require.Equal(t, 3, s.count())

	// Gives up after Attempts, with the last answer.
	c, s, slept := newTest(t, status(503))
	_, err = c.Whoami(t.Context())
	var ae *Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 503, ae.Status)
	require.Equal(t, DefaultRetry.Attempts, s.count())
	require.Len(t, *slept, DefaultRetry.Attempts-1)

	c, s, _ = newTest(t, hangUp)
	_, err = c.Whoami(t.Context())
	var ce *ConnError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, DefaultRetry.Attempts, s.count())
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	c := New("http://x", WithRetry(Retry{Attempts: 9, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}))
	ceil := []time.Duration{10, 20, 40, 50, 50, 50}
	for n, max := range ceil {
		var hi time.Duration
		for range 200 {
			d := c.backoff(n)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.Less(t, d, max*time.Millisecond, "attempt %d", n)
			hi = maxDur(hi, d)
		}
		require.Greater(t, hi, max*time.Millisecond/2, "attempt %d: jitter spans the range", n)
	}
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

func TestRateLimitHonoursRetryAfter(t *testing.T) {
	limited := func(after string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", after)
			jsonAnswer(429, ErrorBody{Error: ErrorDetail{Code: "rate_limited", Message: "slow down"}})(w, nil)
		}
	}
	c, s, slept := newTest(t, limited("3"), okCheck)
	_, err := c.Check(t.Context(), CheckRequest{Resource: "repo:acme/x", Permission: "read"})
	require.NoError(t, err)
	require.Equal(t, 2, s.count())
	require.Equal(t, []time.Duration{3 * time.Second}, *slept)

	// A wait beyond MaxRetryAfter is not waited for: the 429 comes back.
	c, s, slept = newTest(t, limited("3600"), okCheck)
	_, err = c.Check(t.Context(), CheckRequest{Resource: "repo:acme/x", Permission: "read"})
	var ae *Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "rate_limited", ae.Code)
	require.Equal(t, 1, s.count())
	require.Empty(t, *slept)

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d, ok := retryAfter(now.Add(7*time.Second).Format(http.TimeFormat), now)
	require.True(t, ok)
	require.Equal(t, 7*time.Second, d)
	_, ok = retryAfter("soon", now)
	require.False(t, ok)
}

// Minting, activation and other non-idempotent calls are sent once, whatever happens.
func TestNonIdempotentCallsAreNeverRetried(t *testing.T) {
	calls := map[string]func(c *Client) error{
		"mint": func(c *Client) error { _, err := c.MintToken(t.Context(), MintRequest{Role: "developer"}); return err },
		"activate": func(c *Client) error {
			_, err := c.Activate(t.Context(), ActivateRequest{InitialAdmin: "robot:a"})
			return err
		},
		"robot": func(c *Client) error { _, err := c.CreateRobot(t.Context(), RobotRequest{Name: "ci"}); return err },
		"api key": func(c *Client) error {
			_, err := c.CreateAPIKey(t.Context(), "acme", APIKeyRequest{Name: "k"})
			return err
		},
		"exchange":   func(c *Client) error { _, err := c.Exchange(t.Context(), ExchangeRequest{IDToken: "x"}); return err },
		"refresh":    func(c *Client) error { _, err := c.Refresh(t.Context(), RefreshRequest{RefreshToken: "x"}); return err },
		"create org": func(c *Client) error { _, err := c.CreateOrg(t.Context(), OrgRequest{Name: "acme"}); return err },
		"write create": func(c *Client) error {
			_, err := c.WriteRelationships(t.Context(), WriteRequest{Updates: []Update{{Operation: OpCreate, Relationship: "r"}}})
			return err
		},
		"write precondition": func(c *Client) error {
			_, err := c.WriteRelationships(t.Context(), WriteRequest{Updates: []Update{{Operation: OpTouch, Relationship: "r"}},
				Preconditions: []Precondition{{Operation: MustNotMatch, Filter: Filter{Resource: "repo"}}}})
			return err
		},
		"import stream": func(c *Client) error {
			_, err := c.ImportRelationships(t.Context(), io.MultiReader(strings.NewReader(`{"relationship":"r"}`)))
			return err
		},
	}
	for name, f := range calls {
		for _, a := range []func(http.ResponseWriter, *http.Request){status(503), hangUp} {
			c, s, _ := newTest(t, a, okCheck)
			require.Error(t, f(c), name)
			require.Equal(t, 1, s.count(), name)
		}
	}
	// Touch/delete writes and in-memory imports are repeated safely.
	c, s, _ := newTest(t, status(503), jsonAnswer(200, WriteResponse{WrittenAt: "w"}))
	w, err := c.WriteRelationships(t.Context(), WriteRequest{Updates: []Update{{Operation: OpTouch, Relationship: "a"}, {Operation: OpDelete, Relationship: "b"}}})
	require.NoError(t, err)
	require.Equal(t, "w", w.WrittenAt)
	require.Equal(t, 2, s.count())

	c, s, _ = newTest(t, status(503), jsonAnswer(200, ImportResponse{Imported: 1}))
	imp, err := c.ImportRelationships(t.Context(), bytes.NewReader([]byte(`{"relationship":"r"}`+"\n")))
	require.NoError(t, err)
	require.Equal(t, 1, imp.Imported)
	require.Equal(t, []string{`{"relationship":"r"}` + "\n", `{"relationship":"r"}` + "\n"}, s.bodies)
	require.Equal(t, "application/x-ndjson", s.reqs[1].Header.Get("Content-Type"))
}

func TestCancelledContextStopsRetrying(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1); w.WriteHeader(503) }))
	defer srv.Close()
	c := New(srv.URL, WithRetry(Retry{Attempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour}))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Whoami(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, int32(1), hits.Load())
}

func TestExportStreamsLinesAndRefusesATruncatedStream(t *testing.T) {
	lines := "{\"relationship\":\"org:acme#member@user:a@example.com\"}\n\n{\"relationship\":\"repo:acme/x#reader@user:b@example.com\"}\n"
	c, _, _ := newTest(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, lines) })
	var got []string
	require.NoError(t, c.ExportRelationships(t.Context(), func(l ExportLine) error { got = append(got, l.Relationship); return nil }))
	require.Equal(t, []string{"org:acme#member@user:a@example.com", "repo:acme/x#reader@user:b@example.com"}, got)

	c, _, _ = newTest(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, lines+`{"error":"export interrupted; the output is incomplete"}`+"\n")
	})
	err := c.ExportRelationships(t.Context(), func(ExportLine) error { return nil })
	require.ErrorIs(t, err, ErrExportIncomplete)

	stop := errors.New("stop")
	c, _, _ = newTest(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, lines) })
	require.ErrorIs(t, c.ExportRelationships(t.Context(), func(ExportLine) error { return stop }), stop)
}

func TestPathsAndQueriesAreEscaped(t *testing.T) {
	c, s, _ := newTest(t, jsonAnswer(200, map[string]any{}))
	_, err := c.AddTeamMember(t.Context(), "acme", "data", "team:acme/ops")
	require.NoError(t, err)
	require.Equal(t, "/api/v1/orgs/acme/teams/data/members/team:acme%2Fops", s.reqs[0].URL.RawPath)
	_, err = c.Relationships(t.Context(), Filter{Resource: "repo:acme/x", Subject: "user:a+b@example.com"})
	require.NoError(t, err)
	require.Equal(t, "repo:acme/x", s.reqs[1].URL.Query().Get("resource"))
	require.Equal(t, "user:a+b@example.com", s.reqs[1].URL.Query().Get("subject"))
	require.False(t, s.reqs[1].URL.Query().Has("relation"))
}

// Durations travel as Go duration strings, like the API's.
func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(MintRequest{TTL: Duration(2 * time.Hour)})
	require.NoError(t, err)
	require.JSONEq(t, `{"ttl":"2h0m0s"}`, string(b))
	var r APIKeyRequest
	require.NoError(t, json.Unmarshal([]byte(`{"name":"k","lifetime":"720h"}`), &r))
	require.Equal(t, 720*time.Hour, r.Lifetime.D())
	var de *DurationError
	require.ErrorAs(t, json.Unmarshal([]byte(`{"lifetime":"a year"}`), &r), &de)
}
