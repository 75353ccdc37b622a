// Package repos owns an org's repositories (MISSION R1, R4, R5, O1): creating one in a
// bucket config (the org's default when none is named) under a prefix of its own that is
// never reused, with its creator as owner; reading the stored record that vending trusts;
// and deleting one with every relationship that mentions it.
//
// The store row is the repo's location (contract D1): vending reads it, never a
// relationship, so no raw relationship write can move a repo's data. A repo exists for
// authorization while repo#org is present; creation writes the row first and the
// relationships second (the row alone grants nothing), and deletion the other way round.
package repos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/buckets"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Service manages repos. It is safe for concurrent use.
type Service struct {
	store   store.Store
	rel     relations.Engine
	buckets *buckets.Service
	now     func() time.Time
}

// New returns a Service keeping rows in st and writing relationships through rel (the
// guard); bk resolves bucket configs.
func New(st store.Store, rel relations.Engine, bk *buckets.Service) *Service {
	return &Service{store: st, rel: rel, buckets: bk, now: time.Now}
}

// Object is the SpiceDB object of a repo: repo:<org>/<name>.
func Object(org, name string) relations.Object {
	return relations.Object{Type: schema.TypeRepo, ID: org + "/" + name}
}

// lockName serialises creation and deletion of one repo name.
func lockName(org, name string) string { return "repo/" + org + "/" + name }

func notFound(org, name string) error {
	return apperr.New(apperr.NotFound, "not_found", "no repo %s/%s", org, name)
}

// Get returns the stored repo (contract D1); NotFound when absent.
func (s *Service) Get(ctx context.Context, org, name string) (store.Repo, error) {
	r, err := s.store.GetRepo(ctx, org, name)
	if errors.Is(err, store.ErrNotFound) {
		return r, notFound(org, name)
	}
	return r, err
}

// List returns every stored repo of org by name; callers filter what the caller may read.
func (s *Service) List(ctx context.Context, org string) ([]store.Repo, error) {
	return s.store.ListRepos(ctx, org)
}

// Create creates repo org/name in the config called bucket (the org's default when "")
// with a prefix of its own, and makes creator its owner (R1, R4). It holds the config's
// lock (contract D1), so the config cannot be deleted or moved meanwhile (B3, B4).
func (s *Service) Create(ctx context.Context, creator relations.Subject, org, name, bucket string) (store.Repo, store.BucketConfig, error) {
	if !identity.ValidName(name) {
		return store.Repo{}, store.BucketConfig{}, apperr.InvalidField("name", "%q is not a valid repo name (lowercase letters, digits, '-', '_', at most 63)", clip(name))
	}
	if bucket != "" && !identity.ValidName(bucket) {
		return store.Repo{}, store.BucketConfig{}, apperr.InvalidField(buckets.FieldBucket, "%q is not a bucket config nickname of this org (lowercase letters, digits, '-', '_')", clip(bucket))
	}
	switch creator.Type {
	case schema.TypeUser, schema.TypeRobot, schema.TypeServiceAccount:
	default:
		return store.Repo{}, store.BucketConfig{}, apperr.Forbid("a %s cannot own a repo (R1, PL4)", creator.Type)
	}
	cfg, err := s.pickBucket(ctx, org, bucket)
	if err != nil {
		return store.Repo{}, store.BucketConfig{}, err
	}
	var repo store.Repo
	err = s.store.Lock(ctx, lockName(org, name), func(ctx context.Context) error {
		return s.store.Lock(ctx, buckets.LockName(cfg.ID), func(ctx context.Context) error {
			var err error
			repo, cfg, err = s.createLocked(ctx, creator, org, name, cfg)
			return err
		})
	})
	return repo, cfg, err
}

func (s *Service) pickBucket(ctx context.Context, org, bucket string) (store.BucketConfig, error) {
	if bucket == "" {
		return s.buckets.Default(ctx, org)
	}
	cfg, err := s.buckets.Get(ctx, org, bucket)
	if apperr.KindOf(err) == apperr.NotFound {
		return cfg, apperr.InvalidField(buckets.FieldBucket, "org %q has no bucket config called %q", org, bucket)
	}
	return cfg, err
}

// createLocked runs under the config's lock: the config is read again, the row stored,
// then the relationships written (the row is removed again if they fail).
func (s *Service) createLocked(ctx context.Context, creator relations.Subject, org, name string, picked store.BucketConfig) (store.Repo, store.BucketConfig, error) {
	cfg, err := s.store.GetBucketByID(ctx, picked.ID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Repo{}, cfg, onField(apperr.New(apperr.Conflict, "bucket_deleted", "bucket config %q was deleted meanwhile", picked.Nickname), buckets.FieldBucket)
	} else if err != nil {
		return store.Repo{}, cfg, err
	}
	obj := Object(org, name)
	leftovers, err := s.rel.Read(ctx, relations.Filter{ResourceType: obj.Type, ResourceID: obj.ID}, relations.Consistency{Full: true})
	if err != nil {
		return store.Repo{}, cfg, err
	}
	if slices.ContainsFunc(leftovers, func(r relations.Relationship) bool { return r.Relation == schema.RelOrg }) {
		return store.Repo{}, cfg, exists(org, name)
	}
	prefix, err := newPrefix(cfg, org, name)
	if err != nil {
		return store.Repo{}, cfg, err
	}
	r := store.Repo{Org: org, Name: name, BucketID: cfg.ID, Prefix: prefix, CreatedAt: s.now().UTC(), CreatedBy: creator.String()}
	switch err := s.store.CreateRepo(ctx, r); {
	case errors.Is(err, store.ErrExists):
		return r, cfg, exists(org, name)
	case errors.Is(err, store.ErrNotFound):
		return r, cfg, onField(apperr.New(apperr.Conflict, "bucket_deleted", "bucket config %q was deleted meanwhile", cfg.Nickname), buckets.FieldBucket)
	case err != nil:
		return r, cfg, err
	}
	orgObj := relations.Object{Type: schema.TypeOrg, ID: org}
	updates := []relations.Update{
		{Operation: relations.OpTouch, Relationship: relations.Relationship{Resource: obj, Relation: schema.RelOrg, Subject: relations.Subject{Object: orgObj}}},
		{Operation: relations.OpTouch, Relationship: relations.Relationship{Resource: obj, Relation: schema.RelBucket, Subject: relations.Subject{Object: buckets.Object(org, cfg.Nickname)}}},
		{Operation: relations.OpTouch, Relationship: relations.Relationship{Resource: obj, Relation: schema.RelOwner, Subject: creator}},
	}
	// A new repo starts from a clean slate (R5): relationships written for its name before
	// it existed (a raw grant by a platform admin) go in the same write.
	for _, r := range leftovers {
		if !slices.ContainsFunc(updates, func(u relations.Update) bool { return u.Relationship == r }) {
			updates = append(updates, relations.Update{Operation: relations.OpDelete, Relationship: r})
		}
	}
	if _, err := s.rel.Write(ctx, updates, nil); err != nil {
		_ = s.store.DeleteRepo(context.WithoutCancel(ctx), org, name) // nothing half-applied
		return r, cfg, err
	}
	return r, cfg, nil
}

func exists(org, name string) error {
	return onField(apperr.New(apperr.Conflict, "already_exists", "repo %s/%s already exists", org, name), "name")
}

// newPrefix is the repo's own prefix inside cfg: the config's prefix, then
// <org>/<name>-<random>/, so a repo created again under an old name never sees the old
// one's data (R4).
func newPrefix(cfg store.BucketConfig, org, name string) (string, error) {
	base, err := buckets.Location(cfg)
	if err != nil {
		return "", err
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	loc, err := base.Child(org + "/" + name + "-" + hex.EncodeToString(b))
	if err != nil {
		return "", err
	}
	return loc.Prefix, nil
}

// Delete deletes a repo (R5): first every relationship whose resource or subject is the
// repo (one guarded delete each), then the row, under the repo's lock. A delete that
// failed half-way can be run again: it works while either the row or repo#org is left.
func (s *Service) Delete(ctx context.Context, org, name string) error {
	return s.store.Lock(ctx, lockName(org, name), func(ctx context.Context) error {
		obj := Object(org, name)
		_, rowErr := s.store.GetRepo(ctx, org, name)
		if rowErr != nil && !errors.Is(rowErr, store.ErrNotFound) {
			return rowErr
		}
		links, err := s.rel.Read(ctx, relations.Filter{ResourceType: obj.Type, ResourceID: obj.ID, Relation: schema.RelOrg}, relations.Consistency{Full: true})
		if err != nil {
			return err
		}
		if rowErr != nil && len(links) == 0 {
			return notFound(org, name)
		}
		if _, err := s.rel.DeleteMatching(ctx, relations.Filter{ResourceType: obj.Type, ResourceID: obj.ID}); err != nil {
			return err
		}
		if err := relations.DeleteSubject(ctx, s.rel, obj); err != nil {
			return err
		}
		if err := s.store.DeleteRepo(ctx, org, name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// onField returns e naming field, the request field it is about.
func onField(e *apperr.Error, field string) *apperr.Error {
	e.Field = field
	return e
}
