package orgs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// reconcileGrace is how old a key without relationships must be before Reconcile takes it
// for a leftover: a younger one may be a creation in flight on another replica.
const reconcileGrace = time.Minute

func saObj(org, name string) relations.Object {
	return relations.Object{Type: schema.TypeServiceAccount, ID: name + "@" + org}
}

// KeyInfo is an API key's metadata; the secret appears only in CreateAPIKey's answer.
type KeyInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Subject   string    `json:"subject"`
	Account   string    `json:"service_account"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedBy string    `json:"created_by"`
}

func (s *Service) info(k store.APIKey) KeyInfo {
	return KeyInfo{ID: k.TokenID, Name: k.Name, Subject: saObj(k.Org, k.Name).String(),
		Account: fmt.Sprintf("%s@%s.service.%s", k.Name, k.Org, s.domain), Role: k.Role,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, CreatedBy: k.CreatedBy}
}

// NewKey is a created API key with its token, shown once.
type NewKey struct {
	KeyInfo
	Token string `json:"token"`
}

// CreateAPIKey creates service account sa:<name>@<org> with an org role and its token.
//
// The key's row and token are stored first, in one transaction: both or neither, and the
// row is the gate (of two creations of one name only one passes). The org role follows
// in SpiceDB, which cannot join the transaction; nothing is usable before it, since the
// token's secret is shown only after this last step. If the role cannot be written, the
// key and its token are deleted again (one store call); after a crash in between,
// Reconcile removes the key left without any relationship.
func (s *Service) CreateAPIKey(ctx context.Context, actor, org, name string, lifetime time.Duration, role string) (NewKey, error) {
	if err := checkName("name", name); err != nil {
		return NewKey{}, err
	}
	if role == "" {
		role = RoleMember
	}
	relation := roleRelation(role)
	if relation == "" {
		return NewKey{}, apperr.InvalidField("role", "must be %q or %q", RoleMember, RoleAdmin)
	}
	if lifetime == 0 {
		lifetime = DefaultKeyLifetime
	}
	if _, err := s.Get(ctx, org); err != nil {
		return NewKey{}, err
	}
	sa := saObj(org, name)
	k, m, err := s.storeKey(ctx, store.APIKey{Org: org, Name: name, Role: role, CreatedBy: actor},
		tokens.MintRequest{Subject: sa.String(), Kind: tokens.KindAPIKey, Role: role, TTL: lifetime})
	if err != nil {
		return NewKey{}, err
	}
	if _, err := s.writeWhile(ctx, orgAlive(org), []relations.Update{touch(rel(orgObj(org), relation, sub(sa, "")))}, func() error { return notFound("no org %q", org) }); err != nil {
		_ = relations.DeleteSubject(guard.Undoing(ctx), s.rel, sa) // in case the write landed
		_ = s.store.DeleteAPIKey(ctx, org, name)
		return NewKey{}, err
	}
	return NewKey{KeyInfo: s.info(k), Token: m.Token}, nil
}

// storeKey stores key k and the token req asks for, in one transaction, and returns the
// stored key (with its token's id and times) and the token.
func (s *Service) storeKey(ctx context.Context, k store.APIKey, req tokens.MintRequest) (store.APIKey, tokens.Minted, error) {
	var m tokens.Minted
	err := s.store.WithTx(ctx, func(tx store.Tx) error {
		for range 3 { // an id collision is astronomically unlikely; retry anyway
			var rec store.Token
			var err error
			if m, rec, err = s.tokens.Prepare(req); err != nil {
				return err
			}
			k.TokenID, k.CreatedAt, k.ExpiresAt = rec.ID, rec.CreatedAt, rec.ExpiresAt
			if err = tx.CreateToken(ctx, rec); errors.Is(err, store.ErrExists) {
				continue
			} else if err != nil {
				return fmt.Errorf("store token: %w", err)
			}
			return tx.CreateAPIKey(ctx, k)
		}
		return errors.New("could not allocate a token id")
	})
	var ae *apperr.Error
	switch {
	case errors.As(err, &ae) && ae.Field == "ttl":
		ae.Field = "lifetime"
	case errors.Is(err, store.ErrExists):
		err = apperr.New(apperr.Conflict, "already_exists", "API key %q already exists in org %q", k.Name, k.Org)
	case errors.Is(err, store.ErrNotFound):
		err = notFound("no org %q", k.Org)
	}
	return k, m, err
}

// APIKeys lists an org's keys (metadata only).
func (s *Service) APIKeys(ctx context.Context, org string) ([]KeyInfo, error) {
	if _, err := s.Get(ctx, org); err != nil {
		return nil, err
	}
	keys, err := s.store.ListAPIKeys(ctx, org)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.info(k))
	}
	return out, nil
}

// DeleteAPIKey deletes a key. Its org role goes first, through the guard: refused (409
// last_admin) when the key is the org's last admin (O2), before anything else changes.
// Then its row and token, together in one store call, so it is refused at the very next
// request, then its other relationships. If the row and token cannot be deleted, the
// role (a SpiceDB write, outside any store transaction) is given back, so nothing is
// half-applied.
func (s *Service) DeleteAPIKey(ctx context.Context, org, name string) error {
	k, err := s.store.GetAPIKey(ctx, org, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no API key %q in org %q", name, org)
	}
	if err != nil {
		return err
	}
	sa := sub(saObj(org, name), "")
	roles := []relations.Update{del(rel(orgObj(org), schema.RelAdmin, sa)), del(rel(orgObj(org), schema.RelMember, sa))}
	if _, err := s.rel.Write(ctx, roles, nil); err != nil {
		return err
	}
	err = s.store.DeleteAPIKey(ctx, org, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no API key %q in org %q", name, org)
	}
	if err != nil {
		if relation := roleRelation(k.Role); relation != "" {
			_, _ = s.rel.Write(ctx, []relations.Update{touch(rel(orgObj(org), relation, sa))}, nil)
		}
		return err
	}
	return relations.DeleteSubject(ctx, s.rel, saObj(org, name))
}

// Reconcile removes what an interrupted API-key creation, API-key deletion or org
// deletion left behind: keys without any relationship once older than reconcileGrace (a
// crash between the store transaction and the role's write, whose secret was never
// shown, or between removing a key's relationships and its row: either way a key that
// grants nothing), keys whose token is missing (left by older versions), and
// service-account relationships without a key. It is safe to run at every start.
func (s *Service) Reconcile(ctx context.Context) (removed int, err error) {
	// Relationships first: a key stored after this read is younger than the grace, and
	// a relationship read here belongs to a key the listing below sees.
	var rels []relations.Relationship
	for _, rt := range schema.SubjectHolders {
		rs, err := s.rel.Read(ctx, relations.Filter{ResourceType: rt, SubjectType: schema.TypeServiceAccount}, relations.Consistency{Full: true})
		if err != nil {
			return 0, err
		}
		rels = append(rels, rs...)
	}
	granted := map[string]bool{}
	for _, r := range rels {
		granted[r.Subject.ID] = true
	}
	known, removed, err := s.reconcileKeys(ctx, granted)
	if err != nil {
		return removed, err
	}
	for _, r := range rels {
		if known[r.Subject.ID] || r.Subject.ID == relations.Wildcard {
			continue // a live key, or platform:root#unlocked@sa:* (P4), not a leftover
		}
		// A key-less service account can never act: even as an org's last admin
		// it is a leftover, not an admin (guard.Undoing).
		if _, err := s.rel.Write(guard.Undoing(ctx), []relations.Update{del(r)}, nil); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// reconcileKeys deletes the keys whose token is missing, and those older than
// reconcileGrace whose service account is not granted anything, and returns the service
// accounts of the others.
func (s *Service) reconcileKeys(ctx context.Context, granted map[string]bool) (known map[string]bool, removed int, err error) {
	orgs, err := s.store.ListOrgs(ctx)
	if err != nil {
		return nil, 0, err
	}
	known = map[string]bool{}
	now := s.now()
	for _, o := range orgs {
		keys, err := s.store.ListAPIKeys(ctx, o.Name)
		if err != nil {
			return nil, removed, err
		}
		for _, k := range keys {
			id := saObj(k.Org, k.Name).ID
			_, err := s.store.GetToken(ctx, k.TokenID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, removed, err
			}
			if err == nil && (granted[id] || now.Sub(k.CreatedAt) < reconcileGrace) {
				known[id] = true
				continue
			}
			if err := s.store.DeleteAPIKey(ctx, k.Org, k.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, removed, err
			}
			removed++
		}
	}
	return known, removed, nil
}
