package tests

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// Repeated bad tokens from one client get 429 with Retry-After past the threshold; the
// refusal of an unknown token and of a wrong secret cannot be told apart; valid tokens
// keep working.
func TestBruteForceGets429(t *testing.T) {
	e := &env{backend: "embedded", s: harness.StartGatehouse(t, "--auth-failure-limit", "3", "--auth-failure-window", "1m")}
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)

	_, unknown := e.do(t, "GET", "/api/v1/whoami", wellFormedUnknownToken(), nil)
	_, wrong := e.do(t, "GET", "/api/v1/whoami", mutate(act.Token), nil)
	require.Equal(t, string(unknown), string(wrong), "unknown token and wrong secret answer alike")
	e.fail(t, "GET", "/api/v1/whoami", "garbage", nil, 401, "unauthenticated", "")

	resp := e.fail(t, "GET", "/api/v1/whoami", "garbage", nil, 429, "rate_limited", "")
	require.NotEmpty(t, resp.Error.Message)
	status, _ := e.do(t, "GET", "/api/v1/whoami", act.Token, nil)
	require.Equal(t, 200, status, "a valid token is never refused for others' failures")

	r, err := http.Get(e.s.URL + "/api/v1/whoami")
	require.NoError(t, err)
	defer r.Body.Close()
	require.Equal(t, 429, r.StatusCode)
	require.NotEmpty(t, r.Header.Get("Retry-After"))
}
