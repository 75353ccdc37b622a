package login

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// replica is one Gatehouse process's login service and token service on a shared
// PostgreSQL database.
type replica struct {
	svc    *Service
	tokens *tokens.Service
}

func newReplicas(t *testing.T, main, nodevice *idp, clk *clock) (a, b replica) {
	t.Helper()
	ctx := context.Background()
	url := harness.StartPostgres(t)
	var out [2]replica
	for i := range out {
		sql, err := store.NewSQL(ctx, url)
		require.NoError(t, err)
		t.Cleanup(sql.Close)
		require.NoError(t, sql.Migrate(ctx))
		st := store.NewCached(sql, time.Hour)
		tok := tokens.NewService(st, tokens.DefaultConfig())
		svc, err := New(ctx, Config{
			Issuers: []Issuer{
				{Name: "main", URL: main.URL(), ClientID: "gatehouse", ClientSecret: clientSecret},
				{Name: "main-device", URL: main.URL(), ClientID: "gatehouse-cli", ClientSecret: clientSecret},
				{Name: "nodevice", URL: nodevice.URL(), ClientID: "gatehouse", ClientSecret: clientSecret},
			},
			RedirectURL: redirectURL, Now: clk.Now, Logger: slog.New(slog.DiscardHandler),
		}, StoreSessions(st), tok, nil)
		require.NoError(t, err)
		out[i] = replica{svc: svc, tokens: tok}
	}
	return out[0], out[1]
}

// TestLoginAcrossReplicas: a login begun on one replica completes on another sharing the
// database, once (T1; issue 8.6): browser, copy-code and device flows.
func TestLoginAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	main, nodevice, clk := startIDP(t, true), startIDP(t, false), newClock()
	a, b := newReplicas(t, main, nodevice, clk)

	t.Run("browser", func(t *testing.T) {
		authURL, err := a.svc.BeginBrowser(ctx, "main")
		require.NoError(t, err)
		cb := browse(t, main, authURL, "alice")
		state, code := cb.Query().Get("state"), cb.Query().Get("code")
		res, err := b.svc.FinishBrowser(ctx, state, code)
		require.NoError(t, err, "the callback reached the other replica")
		require.Equal(t, "user:"+aliceEmail, res.Subject)
		p, err := a.tokens.Verify(ctx, res.Token)
		require.NoError(t, err, "the token works on the first replica too")
		require.Equal(t, "user:"+aliceEmail, p.Subject)
		_, err = a.svc.FinishBrowser(ctx, state, code)
		requireUnauth(t, err, "the state is spent on every replica")
		_, err = b.svc.Refresh(ctx, res.RefreshToken)
		require.NoError(t, err)
	})

	t.Run("copy code", func(t *testing.T) {
		start, err := b.svc.BeginDevice(ctx, "nodevice")
		require.NoError(t, err)
		require.Equal(t, ModeCopyCode, start.Mode)
		cb := browse(t, nodevice, start.AuthURL, "alice")
		res, err := a.svc.FinishCopiedCode(ctx, start.Handle, cb.Query().Get("code"))
		require.NoError(t, err)
		require.Equal(t, "user:"+aliceEmail, res.Subject)
		_, err = b.svc.FinishCopiedCode(ctx, start.Handle, cb.Query().Get("code"))
		requireUnauth(t, err)
	})

	t.Run("device", func(t *testing.T) {
		start, err := a.svc.BeginDevice(ctx, "main-device")
		require.NoError(t, err)
		require.Equal(t, ModeDevice, start.Mode)
		_, err = b.svc.PollDevice(ctx, start.Handle)
		require.ErrorIs(t, err, ErrPending)
		_, err = a.svc.PollDevice(ctx, start.Handle) // at once, on the other replica: too fast
		require.ErrorIs(t, err, ErrSlowDown, "the polling interval is shared")
		main.DeviceLogin(t, start.UserCode, "alice", "allow")
		clk.Advance(time.Minute)
		res, err := b.svc.PollDevice(ctx, start.Handle)
		require.NoError(t, err)
		require.Equal(t, "user:"+aliceEmail, res.Subject)
		clk.Advance(time.Minute)
		_, err = a.svc.PollDevice(ctx, start.Handle)
		requireUnauth(t, err, "spent on every replica")
	})

	t.Run("expired", func(t *testing.T) {
		authURL, err := a.svc.BeginBrowser(ctx, "main")
		require.NoError(t, err)
		cb := browse(t, main, authURL, "alice")
		clk.Advance(PendingTTL)
		_, err = b.svc.FinishBrowser(ctx, cb.Query().Get("state"), cb.Query().Get("code"))
		requireUnauth(t, err)
	})
}
