package login

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// StoreSessions keeps sessions in Gatehouse's store (memory, PostgreSQL or CockroachDB).
func StoreSessions(st store.Store) SessionStore { return storeSessions{st: st} }

type storeSessions struct{ st store.Store }

func mapStoreErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrExists):
		return ErrConflict
	}
	return err
}

func (s storeSessions) CreateSession(ctx context.Context, ses Session) error {
	return mapStoreErr(s.st.CreateSession(ctx, store.Session{
		ID: ses.ID, Subject: ses.Subject, Issuer: ses.Issuer, RefreshHash: ses.RefreshHash,
		PreviousRefreshHash: ses.PreviousRefreshHash, AccessTokenIDs: ses.AccessTokenIDs,
		CreatedAt: ses.CreatedAt, ExpiresAt: ses.ExpiresAt, RevokedAt: ses.RevokedAt,
	}))
}

func (s storeSessions) GetSession(ctx context.Context, id string) (Session, error) {
	r, err := s.st.GetSession(ctx, id)
	if err != nil {
		return Session{}, mapStoreErr(err)
	}
	// The store shares its slices; SessionStore hands out copies.
	return Session{ID: r.ID, Subject: r.Subject, Issuer: r.Issuer, RefreshHash: slices.Clone(r.RefreshHash),
		PreviousRefreshHash: slices.Clone(r.PreviousRefreshHash), AccessTokenIDs: slices.Clone(r.AccessTokenIDs),
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt}, nil
}

func (s storeSessions) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return mapStoreErr(s.st.RevokeSession(ctx, id, at))
}

func (s storeSessions) RotateSessionRefresh(ctx context.Context, id string, oldHash, newHash []byte, expiresAt time.Time) error {
	return mapStoreErr(s.st.RotateSessionRefresh(ctx, id, oldHash, newHash, expiresAt))
}

func (s storeSessions) AddSessionToken(ctx context.Context, id, tokenID string) error {
	return mapStoreErr(s.st.AddSessionToken(ctx, id, tokenID))
}
