package login

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Logins in progress live in the store (store.LoginState) under the SHA-256 of their
// state or handle, never the secret itself.

// pendingKey is the store key of a pending login named name ("state:<state>" or
// "handle:<handle>").
func pendingKey(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

var flowNames = map[string]flowKind{flowBrowser.String(): flowBrowser, flowCopyCode.String(): flowCopyCode, flowDevice.String(): flowDevice}

func storeUnavailable(err error) error {
	return apperr.New(apperr.Unavailable, "unavailable", "login store unavailable").WithCause(err)
}

// addPending stores p under name, unless MaxPending logins are already waiting.
func (s *Service) addPending(ctx context.Context, name string, p *pending) error {
	left, err := s.states.PurgeLoginStates(ctx, s.cfg.Now())
	if err != nil {
		return storeUnavailable(err)
	}
	if left >= MaxPending {
		return apperr.New(apperr.RateLimited, "rate_limited", "too many logins in progress; try again later")
	}
	err = s.states.CreateLoginState(ctx, store.LoginState{Key: pendingKey(name), Flow: p.kind.String(), Issuer: p.issuer.cfg.Name,
		Verifier: p.verifier, Nonce: p.nonce, DeviceCode: p.deviceCode, Interval: p.interval, NextPoll: p.nextPoll, ExpiresAt: p.expires})
	if err != nil {
		return storeUnavailable(err)
	}
	return nil
}

// fromState returns the pending login of l, or nil when its flow is not kind or its
// issuer is no longer configured.
func (s *Service) fromState(l store.LoginState, kind flowKind) *pending {
	is, ok := s.byName[l.Issuer]
	if k, known := flowNames[l.Flow]; !ok || !known || k != kind {
		return nil
	}
	return &pending{kind: kind, issuer: is, verifier: l.Verifier, nonce: l.Nonce, expires: l.ExpiresAt,
		deviceCode: l.DeviceCode, interval: l.Interval, nextPoll: l.NextPoll}
}

// getPending returns the live pending login under name if it is of kind; nil when
// there is none.
func (s *Service) getPending(ctx context.Context, name string, kind flowKind) (*pending, error) {
	l, err := s.states.GetLoginState(ctx, pendingKey(name), s.cfg.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeUnavailable(err)
	}
	return s.fromState(l, kind), nil
}

// takePending removes and returns the live pending login under name if it is of kind;
// nil when there is none (or another request took it first). A login of another kind
// is left alone.
func (s *Service) takePending(ctx context.Context, name string, kind flowKind) (*pending, error) {
	if p, err := s.getPending(ctx, name, kind); p == nil || err != nil {
		return nil, err
	}
	l, err := s.states.TakeLoginState(ctx, pendingKey(name), s.cfg.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeUnavailable(err)
	}
	return s.fromState(l, kind), nil
}
