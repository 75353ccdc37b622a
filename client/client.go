package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// TokenEnv is the environment variable New reads the token from when WithToken is not
// given (T5).
const TokenEnv = "GATEHOUSE_TOKEN"

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "gatehouse-client-go"

// maxBody bounds the answers the client reads into memory.
const maxBody = 64 << 20

// Retry tunes retries of idempotent calls. Attempts counts the first try; a delay is
// drawn uniformly from [0, min(MaxDelay, BaseDelay*2^n)) (full jitter). A 429's
// Retry-After is honoured up to MaxRetryAfter; a longer wait is not retried.
type Retry struct {
	Attempts      int
	BaseDelay     time.Duration
	MaxDelay      time.Duration
	MaxRetryAfter time.Duration
}

// DefaultRetry is the retry policy of New: 4 attempts, 100 ms doubling up to 2 s.
var DefaultRetry = Retry{Attempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, MaxRetryAfter: 30 * time.Second}

// Client calls one Gatehouse server. It is safe for concurrent use.
type Client struct {
	base      string
	token     string
	http      *http.Client
	userAgent string
	retry     Retry
	sleep     func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*Client)

// WithToken sets the bearer token; "" sends none (the login flow, health).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient replaces the http.Client (timeouts, transport, test servers).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header, e.g. "gatehouse-cli/1.2".
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithRetry sets the retry policy; Retry{Attempts: 1} disables retries.
func WithRetry(r Retry) Option { return func(c *Client) { c.retry = r } }

// New returns a client for the server at baseURL (e.g. "http://127.0.0.1:8080"). The
// token is WithToken's, else $GATEHOUSE_TOKEN.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:      strings.TrimRight(baseURL, "/"),
		token:     os.Getenv(TokenEnv),
		http:      defaultHTTPClient(),
		userAgent: DefaultUserAgent,
		retry:     DefaultRetry,
		sleep:     sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	if c.retry.Attempts < 1 {
		c.retry.Attempts = 1
	}
	return c
}

// defaultHTTPClient waits at most 30 s for an answer's headers, but lets a long answer
// (an export) stream for as long as it takes; the caller's context bounds the whole.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t}
}

// BaseURL is the server's address, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Error is the API's refusal: the HTTP status and the error body's code, message, field
// and details. Code is empty when the answer had no error body.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	Details map[string]any
}

// Error reads "field: message (HTTP 400, invalid_argument)".
func (e *Error) Error() string {
	if e.Code == "" {
		return e.Message
	}
	s := fmt.Sprintf("%s (HTTP %d, %s)", e.Message, e.Status, e.Code)
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	return s
}

// call is one API request. Body is JSON-encoded unless raw is set; out, if not nil,
// receives the decoded JSON answer; stream, if not nil, receives the answer's body.
type call struct {
	method, path string
	query        url.Values
	body         any
	raw          io.Reader // a non-JSON body; retried only when replayable
	contentType  string
	idempotent   bool
	out          any
	stream       func(io.Reader) error
}

// do runs a call, with retries when it is idempotent.
func (c *Client) do(ctx context.Context, k call) error {
	getBody, replayable, err := k.bodyFunc()
	if err != nil {
		return err
	}
	attempts := 1
	if k.idempotent && replayable {
		attempts = c.retry.Attempts
	}
	for n := 0; ; n++ {
		resp, err := c.send(ctx, k, getBody)
		if err == nil && resp.StatusCode < 300 {
			return k.finish(resp)
		}
		wait, retry := c.shouldRetry(ctx, n, resp, err)
		if resp != nil {
			if !retry || n+1 >= attempts {
				return decodeError(resp, k)
			}
			drain(resp)
		}
		if !retry || n+1 >= attempts {
			return err
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return serr
		}
	}
}

// bodyFunc returns a function giving the request body of each attempt, and whether the
// body can be sent more than once (a stream cannot, an in-memory reader can).
func (k call) bodyFunc() (func() io.Reader, bool, error) {
	switch {
	case k.raw != nil:
		switch r := k.raw.(type) {
		case *bytes.Reader, *strings.Reader, *bytes.Buffer:
			b, err := io.ReadAll(r)
			if err != nil {
				return nil, false, err
			}
			return func() io.Reader { return bytes.NewReader(b) }, true, nil
		}
		return func() io.Reader { return k.raw }, false, nil
	case k.body != nil:
		b, err := json.Marshal(k.body)
		if err != nil {
			return nil, false, fmt.Errorf("encoding %s %s: %w", k.method, k.path, err)
		}
		return func() io.Reader { return bytes.NewReader(b) }, true, nil
	}
	return func() io.Reader { return nil }, true, nil
}

func (c *Client) send(ctx context.Context, k call, getBody func() io.Reader) (*http.Response, error) {
	u := c.base + k.path
	if len(k.query) > 0 {
		u += "?" + k.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u, getBody())
	if err != nil {
		return nil, err
	}
	switch {
	case k.contentType != "":
		req.Header.Set("Content-Type", k.contentType)
	case k.body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &ConnError{Addr: c.base, Err: err}
	}
	return resp, nil
}

// ConnError is a request that got no HTTP answer (refused, reset, timed out).
type ConnError struct {
	Addr string
	Err  error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("cannot reach Gatehouse at %s: %v", e.Addr, e.Err)
}

// Unwrap returns the transport's error.
func (e *ConnError) Unwrap() error { return e.Err }

// shouldRetry decides whether attempt n may be retried and after how long.
func (c *Client) shouldRetry(ctx context.Context, n int, resp *http.Response, err error) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	if err != nil {
		var ce *ConnError
		return c.backoff(n), errors.As(err, &ce)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return d, d <= c.retry.MaxRetryAfter
		}
		return c.backoff(n), true
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return c.backoff(n), true
	}
	return 0, false
}

// backoff is full jitter: uniform in [0, min(MaxDelay, BaseDelay*2^n)).
func (c *Client) backoff(n int) time.Duration {
	ceil := c.retry.BaseDelay
	for i := 0; i < n && ceil < c.retry.MaxDelay; i++ {
		ceil *= 2
	}
	if c.retry.MaxDelay > 0 && ceil > c.retry.MaxDelay {
		ceil = c.retry.MaxDelay
	}
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil) //nolint:gosec // G404: jitter needs no cryptographic randomness
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
}

// finish decodes a successful answer.
func (k call) finish(resp *http.Response) error {
	defer resp.Body.Close()
	if k.stream != nil {
		return k.stream(resp.Body)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("reading the answer to %s %s: %w", k.method, k.path, err)
	}
	if k.out == nil {
		return nil
	}
	if s, ok := k.out.(*string); ok {
		*s = string(b)
		return nil
	}
	if err := json.Unmarshal(b, k.out); err != nil {
		return fmt.Errorf("unexpected answer from %s %s: %w", k.method, k.path, err)
	}
	return nil
}

// decodeError turns a refusal into an *Error.
func decodeError(resp *http.Response, k call) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var eb ErrorBody
	if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
		return &Error{Status: resp.StatusCode, Message: fmt.Sprintf("HTTP %d from %s %s", resp.StatusCode, k.method, k.path)}
	}
	d := eb.Error
	return &Error{Status: resp.StatusCode, Code: d.Code, Message: d.Message, Field: d.Field, Details: d.Details}
}

// path joins escaped segments onto prefix.
func path(prefix string, segments ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
