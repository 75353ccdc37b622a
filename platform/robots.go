package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

func robotObj(name string) relations.Object {
	return relations.Object{Type: schema.TypeRobot, ID: name}
}

// CreateRobot creates robot:<name> and its first token (ID3), in one transaction: both
// or neither. The robot is granted nothing.
//
// It writes under guard.LockPlatformAdmins after checking that the platform is still
// activated (403 not_activated otherwise): Deactivate holds that lock for its whole wipe,
// so a robot created by a request authorized before a deactivation is either wiped with
// everything else or refused, never left behind with a working token (P3).
func (s *Service) CreateRobot(ctx context.Context, name, createdBy string, ttl time.Duration) (tokens.Minted, error) {
	if !identity.ValidName(name) {
		return tokens.Minted{}, apperr.InvalidField("name", "%q is not a valid robot name (lowercase letters, digits, '-', '_', at most 63)", name)
	}
	if _, err := s.tokens.TTL(ttl, false); err != nil {
		return tokens.Minted{}, err
	}
	var m tokens.Minted
	err := s.lockAdmins(ctx, func(ctx context.Context) error {
		if err := s.requireActivated(ctx, "robot creation"); err != nil {
			return err
		}
		return s.createRobotTx(ctx, name, createdBy, ttl, &m)
	})
	if err != nil {
		return tokens.Minted{}, err
	}
	return m, nil
}

// createRobotTx writes the robot and its first token in one transaction into *m.
func (s *Service) createRobotTx(ctx context.Context, name, createdBy string, ttl time.Duration, m *tokens.Minted) error {
	return s.store.WithTx(ctx, func(tx store.Tx) error {
		err := tx.CreateRobot(ctx, store.Robot{Name: name, CreatedAt: s.now().UTC(), CreatedBy: createdBy})
		if errors.Is(err, store.ErrExists) {
			return apperr.New(apperr.Conflict, "already_exists", "robot %q already exists", name)
		}
		if err != nil {
			return err
		}
		*m, err = storeToken(ctx, s.tokens, tx, tokens.MintRequest{Subject: robotObj(name).String(), Kind: tokens.KindRobot, TTL: ttl})
		return err
	})
}

// storeToken prepares the token req asks for and stores its record through tx, trying
// again on an id collision as tokens.Service.Mint does. It touches nothing but tx, so
// it may run inside store.WithTx; the secret it returns is to be shown only once the
// transaction has committed.
func storeToken(ctx context.Context, tok *tokens.Service, tx store.TokenStore, req tokens.MintRequest) (tokens.Minted, error) {
	for range 3 { // an id collision is astronomically unlikely; retry anyway
		m, rec, err := tok.Prepare(req)
		if err != nil {
			return tokens.Minted{}, err
		}
		err = tx.CreateToken(ctx, rec)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return tokens.Minted{}, fmt.Errorf("store token: %w", err)
		}
		return m, nil
	}
	return tokens.Minted{}, errors.New("could not allocate a token id")
}

// Robots lists robots.
func (s *Service) Robots(ctx context.Context) ([]store.Robot, error) { return s.store.ListRobots(ctx) }

// Robot returns a robot, NotFound when absent.
func (s *Service) Robot(ctx context.Context, name string) (store.Robot, error) {
	r, err := s.store.GetRobot(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return r, apperr.New(apperr.NotFound, "not_found", "no robot %q", name)
	}
	return r, err
}

// DeleteRobot deletes a robot, its tokens and every relationship naming it.
//
// Its admin relationship goes first, through the guard: refused (409 last_admin) when the
// robot is the last platform admin (P2), before anything else is touched. Every other
// relationship naming it goes next, and its tokens and row last, together in one store
// transaction. SpiceDB cannot join that transaction; in this order a failure or a crash
// at any point leaves a robot that still exists with fewer grants (the state of a robot
// just created), never grants waiting for a future robot of the same name, and calling
// DeleteRobot again finishes the job.
func (s *Service) DeleteRobot(ctx context.Context, name string) error {
	if _, err := s.Robot(ctx, name); err != nil {
		return err
	}
	sub := relations.Subject{Object: robotObj(name)}
	if _, err := s.rel.Write(ctx, []relations.Update{{Operation: relations.OpDelete, Relationship: adminRel(sub)}}, nil); err != nil {
		return err
	}
	if err := relations.DeleteSubject(ctx, s.rel, sub.Object); err != nil {
		return err
	}
	err := s.store.WithTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteTokensOf(ctx, sub.String()); err != nil {
			return err
		}
		return tx.DeleteRobot(ctx, name)
	})
	if errors.Is(err, store.ErrNotFound) { // deleted meanwhile by another call
		return apperr.New(apperr.NotFound, "not_found", "no robot %q", name)
	}
	return err
}
