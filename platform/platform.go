// Package platform owns the installation's life cycle: activation (P1), platform admins
// (P2), deactivation (P3), admin-only mode (P4) and robots (ID3). Its state lives in
// SpiceDB (platform:root's admin and unlocked relationships) and in Gatehouse's own store
// (tokens, robots, and the activation record, written once: only deactivation clears it).
//
// Its relationship writes are expected to go through a guarded engine (package guard),
// which keeps at least one platform admin while activated (P2) against every writer and
// race; this package holds no read-then-write checks of its own.
package platform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Root is the platform object.
var Root = relations.Object{Type: schema.TypePlatform, ID: schema.PlatformID}

// unlockedTypes are the subject types given the `unlocked` wildcard while the platform is
// open; removing them is admin-only mode (P4).
var unlockedTypes = []string{schema.TypeUser, schema.TypeRobot, schema.TypeServiceAccount, schema.TypePipeline}

// Token kinds and the creator of the first admin robot, as the store records them.
const (
	activationActor = "activation"
)

// Service runs platform operations.
type Service struct {
	rel    relations.Engine
	tokens *tokens.Service
	store  store.Store
	act    store.ActivationStore // the activation record (P1): store itself
	mu     sync.Mutex            // serializes mode changes and deactivation in this process
	now    func() time.Time

	licenceExpires time.Time // admin-only from then on (P4); zero: never

	mode        atomic.Pointer[modeState] // nil: read SpiceDB at the next request
	modeRefresh sync.Mutex                // one refresh at a time
}

// modeState is admin-only mode as last read, and when.
type modeState struct {
	on   bool
	read time.Time
}

// modeTTL bounds how stale another replica's view of admin-only mode may be.
const modeTTL = 2 * time.Second

// New returns a platform service.
func New(rel relations.Engine, tok *tokens.Service, st store.Store) *Service {
	return &Service{rel: rel, tokens: tok, store: st, act: st, now: time.Now}
}

// SetLicenceExpiry puts the platform in admin-only mode from t on (P4); zero: never.
// Nothing is deleted, so everything returns when the licence is renewed.
func (s *Service) SetLicenceExpiry(t time.Time) { s.licenceExpires = t }

// LicenceExpired reports whether the licence has run out.
func (s *Service) LicenceExpired() bool {
	return !s.licenceExpires.IsZero() && !s.now().Before(s.licenceExpires)
}

// adminType reports whether sub may be a platform admin: a robot or a user, without a
// relation.
func adminType(sub relations.Subject) bool {
	return (sub.Type == schema.TypeRobot || sub.Type == schema.TypeUser) && sub.Relation == ""
}

func adminRel(sub relations.Subject) relations.Relationship {
	return relations.Relationship{Resource: Root, Relation: schema.RelAdmin, Subject: sub}
}

func unlockedRels() []relations.Relationship {
	out := make([]relations.Relationship, 0, len(unlockedTypes))
	for _, t := range unlockedTypes {
		out = append(out, relations.Relationship{Resource: Root, Relation: schema.RelUnlocked,
			Subject: relations.Subject{Object: relations.Object{Type: t, ID: relations.Wildcard}}})
	}
	return out
}

var adminFilter = relations.Filter{ResourceType: schema.TypePlatform, ResourceID: schema.PlatformID, Relation: schema.RelAdmin}

// Activated reports whether the platform has been activated: the activation record in
// the store, written once by Activate and cleared only by Deactivate (P1, P3). Removing
// every admin relationship does not reopen it.
func (s *Service) Activated(ctx context.Context) (bool, error) {
	_, on, err := s.act.Activation(ctx)
	if err != nil || on {
		return on, err
	}
	return s.recordLegacy(ctx)
}

// recordLegacy writes the activation record of an installation activated before the
// record existed (it has admin relationships but no record), so that such a platform
// can never be activated a second time. It never clears anything.
//
// It decides under guard.LockPlatformAdmins, the lock Deactivate holds for its whole wipe
// (P3): read outside it, admin relationships a deactivation is about to delete would be
// taken for a legacy activation and recorded after the wipe, reactivating a platform
// whose deactivation had just reported success. Under the lock it sees either the state
// before a deactivation (the record is there) or after it (no admin is left). A cheap
// unlocked read first keeps the lock off the path of a platform that has no admin.
func (s *Service) recordLegacy(ctx context.Context) (bool, error) {
	if has, err := s.hasAdminRels(ctx); err != nil || !has {
		return false, err
	}
	var on bool
	err := s.lockAdmins(ctx, func(ctx context.Context) error {
		if _, rec, err := s.act.Activation(ctx); err != nil || rec {
			on = rec
			return err
		}
		has, err := s.hasAdminRels(ctx)
		if err != nil || !has {
			return err
		}
		if err := s.act.MarkActivated(ctx, s.now().UTC()); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
		on = true
		return nil
	})
	return on, err
}

func (s *Service) hasAdminRels(ctx context.Context) (bool, error) {
	rels, err := s.rel.Read(ctx, adminFilter, relations.Consistency{Full: true})
	return len(rels) > 0, err
}

// lockAdmins runs fn holding guard.LockPlatformAdmins, exclusive across every replica
// sharing the store. The lock is not reentrant: fn must not write platform admin
// relationships through the guard unless its ctx lifts the check (guard.Deactivating),
// since the guard takes the same lock for them.
func (s *Service) lockAdmins(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.store.Lock(ctx, guard.LockPlatformAdmins, fn)
}

// notActivated is the refusal of a write that needs an activated platform.
func notActivated(what string) error {
	return apperr.New(apperr.NotActivated, "not_activated", "the platform is not activated (it may have just been deactivated): %s refused", what)
}

// requireActivated returns notActivated(what) unless the activation record is there. Call
// it under lockAdmins, so that a deactivation cannot run between it and the write.
func (s *Service) requireActivated(ctx context.Context, what string) error {
	_, on, err := s.act.Activation(ctx)
	if err != nil {
		return err
	}
	if !on {
		return notActivated(what)
	}
	return nil
}

// Activation is the result of activating: the admin and, for a robot, its token.
type Activation struct {
	Subject   string
	Token     string
	ExpiresAt time.Time
}

// Activate names the first platform admin (P1). A robot admin is created and gets a token
// (shown once); a user admin logs in later. Refused with Conflict if already activated.
func (s *Service) Activate(ctx context.Context, initialAdmin string, ttl time.Duration) (Activation, error) {
	sub, err := identity.ParseSubject("initial_admin", initialAdmin)
	if err != nil {
		return Activation{}, err
	}
	if !adminType(sub) {
		return Activation{}, apperr.InvalidField("initial_admin", "must be robot:<name> or user:<email>")
	}
	// The first admin's token lives as long as admin power may (24 h by default) unless
	// asked otherwise: it is the only way in until more admins or tokens exist. The
	// lifetime is checked before anything is written.
	if ttl == 0 {
		ttl = s.tokens.MaxAdminTTL()
	}
	if _, err := s.tokens.TTL(ttl, true); err != nil {
		return Activation{}, err
	}
	if _, err := s.recordLegacy(ctx); err != nil {
		return Activation{}, err
	}
	// The store first, in one transaction: the activation record, the one gate (written
	// once, so of two activations, or an activation of an activated platform, only the
	// first passes, P1), with the admin robot and its token. SpiceDB cannot join that
	// transaction, so the admin relationships come second, and nothing is usable until
	// they are written: the token's secret is shown only then, and a platform with the
	// record and no admin is closed, never open to a second anonymous activation. If the
	// relationships fail, undoActivation takes the transaction back.
	// Under the lock Deactivate holds, so the record, robot and token are written wholly
	// before a deactivation's wipe (which then deletes them) or after it, never between.
	var w activationWrite
	err = s.lockAdmins(ctx, func(ctx context.Context) error {
		var err error
		w, err = s.writeActivation(ctx, sub, ttl)
		return err
	})
	if err != nil {
		return Activation{}, err
	}
	updates := []relations.Update{{Operation: relations.OpTouch, Relationship: adminRel(sub)}}
	for _, r := range unlockedRels() {
		updates = append(updates, relations.Update{Operation: relations.OpTouch, Relationship: r})
	}
	if _, err := s.rel.Write(ctx, updates, nil); err != nil {
		return Activation{}, s.undoActivation(ctx, sub, w, err)
	}
	s.forgetMode()
	return Activation{Subject: sub.String(), Token: w.token.Token, ExpiresAt: w.token.ExpiresAt}, nil
}

// activationWrite is what Activate's store transaction wrote.
type activationWrite struct {
	token        tokens.Minted // zero for a user admin
	robotCreated bool          // false for a user, or a robot that already existed
}

// writeActivation runs Activate's store transaction: the activation record and, for a
// robot admin, the robot (unless it exists) and its token, all or nothing.
func (s *Service) writeActivation(ctx context.Context, sub relations.Subject, ttl time.Duration) (activationWrite, error) {
	var w activationWrite
	now := s.now().UTC()
	err := s.store.WithTx(ctx, func(tx store.Tx) error {
		w = activationWrite{} // fn may run again
		if err := tx.MarkActivated(ctx, now); errors.Is(err, store.ErrExists) {
			return apperr.New(apperr.Conflict, "already_activated", "the platform is already activated")
		} else if err != nil {
			return err
		}
		if sub.Type != schema.TypeRobot {
			return nil
		}
		err := tx.CreateRobot(ctx, store.Robot{Name: sub.ID, CreatedAt: now, CreatedBy: activationActor})
		if err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
		w.robotCreated = err == nil
		w.token, err = storeToken(ctx, s.tokens, tx, tokens.MintRequest{Subject: sub.String(), Kind: tokens.KindRobot, TTL: ttl, AdminPower: true})
		return err
	})
	return w, err
}

// undoActivation takes back a failed activation: the relationships first, then, in one
// transaction, the robot and token it created and the record, so it can be tried again.
// If the undo itself fails the record stays: the platform reads as activated with no
// admin, which is closed, never open to a second anonymous activation.
func (s *Service) undoActivation(ctx context.Context, sub relations.Subject, w activationWrite, cause error) error {
	ctx = guard.Undoing(ctx)
	if _, err := s.rel.DeleteMatching(ctx, relations.Filter{ResourceType: schema.TypePlatform, ResourceID: schema.PlatformID}); err != nil {
		return fmt.Errorf("activate %s: %w (and the undo failed: %v)", sub, cause, err)
	}
	err := s.store.WithTx(ctx, func(tx store.Tx) error {
		switch {
		case w.robotCreated:
			if err := tx.DeleteTokensOf(ctx, sub.String()); err != nil {
				return err
			}
			if err := tx.DeleteRobot(ctx, sub.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		case w.token.ID != "":
			if err := tx.RevokeToken(ctx, w.token.ID, s.now().UTC()); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return tx.ClearActivated(ctx)
	})
	if err != nil {
		return fmt.Errorf("activate %s: %w (and the undo failed: %v)", sub, cause, err)
	}
	return fmt.Errorf("activate %s: %w", sub, cause)
}

// Deactivate deletes every relationship, token and robot, then the activation record:
// a blank slate (P3). It is the one path allowed to remove the last admins (through
// guard.Deactivating); the record goes last, so an interrupted deactivation leaves a
// platform that is still activated, never one open to anonymous activation. Its two
// store writes (Reset, all or nothing in itself, and clearing the record) stay apart, with
// the SpiceDB deletions, which no store transaction can hold, between them; running it
// again finishes an interrupted one.
//
// The whole wipe is one serialized section, across every replica sharing the store,
// against everything that adds a platform admin, a robot or a robot token or records
// activation: it holds guard.LockPlatformAdmins, under which the guard checks the
// activation record before adding an admin, and under which CreateRobot, Activate's store
// transaction and recordLegacy check it before writing. A request authorized before the
// wipe therefore writes wholly before it (and is wiped) or finds no record after it (403
// not_activated); without the lock such a write landed between the deletions and the
// record's removal and survived, and an admin relationship left so was later recorded as
// a legacy activation, reactivating the platform (P3, found by a red-team pass). The
// guard takes no lock for the deletions (guard.Deactivating lifts the last-admin rule),
// so nothing here takes the lock twice.
func (s *Service) Deactivate(ctx context.Context, resourceTypes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.forgetMode()
	return s.lockAdmins(guard.Deactivating(ctx), func(ctx context.Context) error {
		// Tokens first: once they are gone nobody can act, whatever happens next.
		if err := s.store.Reset(ctx); err != nil {
			return err
		}
		for _, t := range resourceTypes {
			if _, err := s.rel.DeleteMatching(ctx, relations.Filter{ResourceType: t}); err != nil {
				return fmt.Errorf("delete %s relationships: %w", t, err)
			}
		}
		return s.act.ClearActivated(ctx)
	})
}

// IsAdmin reports whether sub is a platform admin now.
func (s *Service) IsAdmin(ctx context.Context, sub relations.Subject) (bool, error) {
	res, err := s.rel.Check(ctx, relations.CheckRequest{Resource: Root, Permission: schema.PermSuperAdmin, Subject: sub})
	return res.Allowed, err
}

// Admins lists the platform admins.
func (s *Service) Admins(ctx context.Context) ([]string, error) {
	rels, err := s.rel.Read(ctx, adminFilter, relations.Consistency{Full: true})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rels))
	for _, r := range rels {
		out = append(out, r.Subject.String())
	}
	slices.Sort(out)
	return out, nil
}

// adminSubject parses a subject that may be a platform admin.
func (s *Service) adminSubject(ctx context.Context, subject string) (relations.Subject, error) {
	sub, err := identity.ParseSubject("subject", subject)
	if err != nil {
		return sub, err
	}
	if !adminType(sub) {
		return sub, apperr.InvalidField("subject", "platform admins are robot:<name> or user:<email>")
	}
	if sub.Type == schema.TypeRobot {
		if _, err := s.store.GetRobot(ctx, sub.ID); errors.Is(err, store.ErrNotFound) {
			return sub, apperr.New(apperr.NotFound, "not_found", "no robot %q", sub.ID)
		} else if err != nil {
			return sub, err
		}
	}
	return sub, nil
}

// AddAdmin appoints a platform admin (P2). Idempotent. The guard writes the relationship
// under guard.LockPlatformAdmins after checking the activation record there, so an
// addition racing Deactivate is refused (403 not_activated) rather than outliving it (P3).
func (s *Service) AddAdmin(ctx context.Context, subject string) (string, error) {
	sub, err := s.adminSubject(ctx, subject)
	if err != nil {
		return "", err
	}
	if _, err := s.Activated(ctx); err != nil { // records a legacy activation first
		return "", err
	}
	_, err = s.rel.Write(ctx, []relations.Update{{Operation: relations.OpTouch, Relationship: adminRel(sub)}}, nil)
	return sub.String(), err
}

// RemoveAdmin removes a platform admin: NotFound when sub is not one, and refused by the
// guard (409 last_admin) when it is the last one (P2), atomically against every other
// removal, in this process or another.
func (s *Service) RemoveAdmin(ctx context.Context, subject string) error {
	sub, err := identity.ParseSubject("subject", subject)
	if err != nil {
		return err
	}
	if !adminType(sub) {
		return apperr.New(apperr.NotFound, "not_found", "%s is not a platform admin", sub)
	}
	_, err = s.rel.Write(ctx, []relations.Update{{Operation: relations.OpDelete, Relationship: adminRel(sub)}},
		[]relations.Precondition{{Filter: relations.Filter{ResourceType: schema.TypePlatform, ResourceID: schema.PlatformID,
			Relation: schema.RelAdmin, SubjectType: sub.Type, SubjectID: sub.ID}, MustExist: true}})
	if errors.Is(err, relations.ErrPrecondition) {
		return apperr.New(apperr.NotFound, "not_found", "%s is not a platform admin", sub)
	}
	return err
}

// AdminOnly reports whether admin-only mode is on (P4).
func (s *Service) AdminOnly(ctx context.Context) (bool, error) {
	rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: schema.TypePlatform, ResourceID: schema.PlatformID, Relation: schema.RelUnlocked}, relations.Consistency{Full: true})
	if err != nil {
		return false, err
	}
	return len(rels) < len(unlockedTypes), nil
}

// SetAdminOnly switches admin-only mode on or off (P4). Nothing else is touched, so no
// data is lost and everything returns when it is lifted.
func (s *Service) SetAdminOnly(ctx context.Context, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	op := relations.OpTouch
	if on {
		op = relations.OpDelete
	}
	var updates []relations.Update
	for _, r := range unlockedRels() {
		updates = append(updates, relations.Update{Operation: op, Relationship: r})
	}
	if _, err := s.rel.Write(ctx, updates, nil); err != nil {
		return err
	}
	s.setMode(&modeState{on: on, read: s.now()})
	return nil
}

// setMode records the mode after a refresh in flight, so the newer value wins.
func (s *Service) setMode(st *modeState) {
	s.modeRefresh.Lock()
	defer s.modeRefresh.Unlock()
	s.mode.Store(st)
}

// AdminOnlyCached is AdminOnly read at most every modeTTL, for the request path, or true
// once the licence has expired. A switch made through this process is seen at once.
func (s *Service) AdminOnlyCached(ctx context.Context) (bool, error) {
	if s.LicenceExpired() {
		return true, nil
	}
	fresh := func() (bool, bool) {
		st := s.mode.Load()
		return st != nil && st.on, st != nil && s.now().Sub(st.read) < modeTTL
	}
	if on, ok := fresh(); ok {
		return on, nil
	}
	s.modeRefresh.Lock()
	defer s.modeRefresh.Unlock()
	if on, ok := fresh(); ok { // another request refreshed it meanwhile
		return on, nil
	}
	on, err := s.AdminOnly(ctx)
	if err != nil {
		return false, err
	}
	s.mode.Store(&modeState{on: on, read: s.now()})
	return on, nil
}

// forgetMode makes the next AdminOnlyCached read SpiceDB.
func (s *Service) forgetMode() {
	s.setMode(nil)
}
