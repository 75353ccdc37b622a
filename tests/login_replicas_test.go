package tests

// Logins across replicas (T1; issue 8.6): two Gatehouse apps built by app.New on one
// PostgreSQL database; a login begun on one completes on the other, once.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/app"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/internal/testclock"
	"github.com/gatehouse-dev/gatehouse/internal/testidp"
	"github.com/gatehouse-dev/gatehouse/login"
)

// replicaPublicURL is the replicas' public URL: the providers redirect the browser there.
const replicaPublicURL = "https://gatehouse.test"

// loginReplicas are two replicas trusting main (with a device endpoint) as "main" and,
// through its device-only client, "main-device", and nodevice as "nodevice".
func loginReplicas(t *testing.T, main, nodevice *testidp.Provider, clk *testclock.Clock) (a, b *app.App) {
	t.Helper()
	issuer := func(name string, p *testidp.Provider, clientID string) string {
		return "name=" + name + ",url=" + p.URL() + ",client-id=" + clientID + ",client-secret=" + testidp.ClientSecret
	}
	a, b = replicaApps(t, func(cfg *app.Config) {
		cfg.OIDCIssuers = []string{issuer("main", main, testidp.ClientID),
			issuer("main-device", main, testidp.DeviceClientID), issuer("nodevice", nodevice, testidp.ClientID)}
		cfg.PublicURL, cfg.LoginNow = replicaPublicURL, clk.Now
	})
	require.NotNil(t, a.Login())
	require.NotNil(t, b.Login())
	return a, b
}

// startReplicaIDP starts a provider that knows the replicas' redirect URIs.
func startReplicaIDP(t *testing.T, device bool) *testidp.Provider {
	t.Helper()
	cb := replicaPublicURL + "/api/v1/auth/callback"
	return testidp.Start(t, testidp.Options{Device: device, RedirectURIs: []string{cb, cb + "?mode=copy_code"}})
}

// browseTo logs alice in at p through authURL and returns the callback's state and code,
// which must be the replicas'.
func browseTo(t *testing.T, p *testidp.Provider, authURL string) (state, code string) {
	t.Helper()
	loc := p.Browse(t, authURL, "alice")
	require.Equal(t, replicaPublicURL, loc.Scheme+"://"+loc.Host, "redirected to %s", loc)
	return loc.Query().Get("state"), loc.Query().Get("code")
}

func requireUnauthorized(t *testing.T, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	var ae *apperr.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, apperr.Unauth().Kind, ae.Kind, msgAndArgs...)
}

// TestLoginAcrossReplicas: a login begun on one replica completes on another sharing the
// database, once (T1; issue 8.6): browser, copy-code and device flows.
func TestLoginAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	main, nodevice, clk := startReplicaIDP(t, true), startReplicaIDP(t, false), testclock.New()
	ra, rb := loginReplicas(t, main, nodevice, clk)
	a, b := ra.Login(), rb.Login()

	t.Run("browser", func(t *testing.T) {
		authURL, err := a.BeginBrowser(ctx, "main")
		require.NoError(t, err)
		state, code := browseTo(t, main, authURL)
		res, err := b.FinishBrowser(ctx, state, code)
		require.NoError(t, err, "the callback reached the other replica")
		require.Equal(t, aliceSubject, res.Subject)
		p, err := ra.Tokens().Verify(ctx, res.Token)
		require.NoError(t, err, "the token works on the first replica too")
		require.Equal(t, aliceSubject, p.Subject)
		_, err = a.FinishBrowser(ctx, state, code)
		requireUnauthorized(t, err, "the state is spent on every replica")
		_, err = b.Refresh(ctx, res.RefreshToken)
		require.NoError(t, err)
	})

	t.Run("copy code", func(t *testing.T) {
		start, err := b.BeginDevice(ctx, "nodevice")
		require.NoError(t, err)
		require.Equal(t, login.ModeCopyCode, start.Mode)
		_, code := browseTo(t, nodevice, start.AuthURL)
		res, err := a.FinishCopiedCode(ctx, start.Handle, code)
		require.NoError(t, err)
		require.Equal(t, aliceSubject, res.Subject)
		_, err = b.FinishCopiedCode(ctx, start.Handle, code)
		requireUnauthorized(t, err)
	})

	t.Run("device", func(t *testing.T) {
		start, err := a.BeginDevice(ctx, "main-device")
		require.NoError(t, err)
		require.Equal(t, login.ModeDevice, start.Mode)
		_, err = b.PollDevice(ctx, start.Handle)
		require.ErrorIs(t, err, login.ErrPending)
		_, err = a.PollDevice(ctx, start.Handle) // at once, on the other replica: too fast
		require.ErrorIs(t, err, login.ErrSlowDown, "the polling interval is shared")
		main.DeviceLogin(t, start.UserCode, "alice", "allow")
		clk.Advance(time.Minute)
		res, err := b.PollDevice(ctx, start.Handle)
		require.NoError(t, err)
		require.Equal(t, aliceSubject, res.Subject)
		clk.Advance(time.Minute)
		_, err = a.PollDevice(ctx, start.Handle)
		requireUnauthorized(t, err, "spent on every replica")
	})

	t.Run("expired", func(t *testing.T) {
		authURL, err := a.BeginBrowser(ctx, "main")
		require.NoError(t, err)
		state, code := browseTo(t, main, authURL)
		clk.Advance(login.PendingTTL)
		_, err = b.FinishBrowser(ctx, state, code)
		requireUnauthorized(t, err)
	})
}
