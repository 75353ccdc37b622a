// Package buckets owns an org's bucket configs (MISSION B1-B5, B7): creating, listing,
// changing and deleting them, with every name and location validated before anything is
// stored (credentials.ValidateBucket), no two configs anywhere on the platform pointing at
// the same or an overlapping location, one default per org, secrets sealed to their row
// (internal/seal) and never returned, and the IAM policies of aws_role configs.
//
// Concurrency: every change of a config holds store.Lock(LockName(id)), which repo creation
// on that config also holds (contract D1), so a config is never deleted or moved under a
// repo being created on it (B3, B4, R4). Changes of a location also hold LockLocations, so
// two overlapping configs cannot both pass the overlap check. The store keeps B3 and B4
// itself as well (a foreign key, a guarded update), and the one default per org.
package buckets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/internal/seal"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

// FieldBucket is the repo request's field naming a bucket config by nickname (API.md:
// {"name","bucket"?}), named in errors.
const FieldBucket = "bucket"

// LockLocations serialises every change of a config's location across the platform.
const LockLocations = "buckets/locations"

// LockName is the lock serialising a config's deletion and changes with repo creation on
// it (contract D1): "bucket/" + id.
func LockName(id string) string { return "bucket/" + id }

// Service manages bucket configs. It is safe for concurrent use.
type Service struct {
	store     store.Store
	rel       relations.Engine
	box       *seal.Box
	principal string // Gatehouse's AWS principal ARN, for trust policies (B7); "" unset
	now       func() time.Time
}

// New returns a Service storing configs in st, writing their relationships through rel
// (the guard), sealing secrets with box. principalARN is Gatehouse's own AWS principal,
// named in aws_role trust policies; "" makes iam-policy refuse with the reason.
func New(st store.Store, rel relations.Engine, box *seal.Box, principalARN string) *Service {
	return &Service{store: st, rel: rel, box: box, principal: principalARN, now: time.Now}
}

// Input is a new bucket config as the API receives it, secrets in clear.
type Input struct {
	Nickname    string
	URI         string
	Platform    string
	EndpointURL string
	Region      string
	Auth        credentials.Auth
	Default     bool
}

// Object is the SpiceDB object of a config: bucket:<org>/<nickname>.
func Object(org, nickname string) relations.Object {
	return relations.Object{Type: schema.TypeBucket, ID: org + "/" + nickname}
}

func orgLink(org, nickname string) relations.Relationship {
	return relations.Relationship{Resource: Object(org, nickname), Relation: schema.RelOrg,
		Subject: relations.Subject{Object: relations.Object{Type: schema.TypeOrg, ID: org}}}
}

func notFound(org, nickname string) error {
	return apperr.New(apperr.NotFound, "not_found", "no bucket config %q in org %q", nickname, org)
}

func checkNickname(nickname string) error {
	if !identity.ValidName(nickname) {
		return apperr.InvalidField("nickname", "%q is not a valid nickname (lowercase letters, digits, '-', '_', at most 63)", clip(nickname))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Location returns the validated location of b (its bucket and prefix).
func Location(b store.BucketConfig) (credentials.Location, error) {
	return credentials.NewLocation(b.Platform, b.Bucket, b.Prefix)
}

func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// checkOrg returns NotFound when org does not exist.
func (s *Service) checkOrg(ctx context.Context, org string) error {
	if _, err := s.store.GetOrg(ctx, org); errors.Is(err, store.ErrNotFound) {
		return apperr.New(apperr.NotFound, "not_found", "no org %q", org)
	} else if err != nil {
		return err
	}
	return nil
}

// Get returns the config of org called nickname; NotFound when absent.
func (s *Service) Get(ctx context.Context, org, nickname string) (store.BucketConfig, error) {
	b, err := s.store.GetBucket(ctx, org, nickname)
	if errors.Is(err, store.ErrNotFound) {
		return b, notFound(org, nickname)
	}
	return b, err
}

// List returns the configs of org by nickname.
func (s *Service) List(ctx context.Context, org string) ([]store.BucketConfig, error) {
	return s.store.ListBuckets(ctx, org)
}

// Default returns the org's default config; NotFound-like Conflict when it has none.
func (s *Service) Default(ctx context.Context, org string) (store.BucketConfig, error) {
	all, err := s.store.ListBuckets(ctx, org)
	if err != nil {
		return store.BucketConfig{}, err
	}
	for _, b := range all {
		if b.Default {
			return b, nil
		}
	}
	return store.BucketConfig{}, onField(apperr.New(apperr.Conflict, "no_default_bucket",
		"org %q has no default bucket config: name one in \"bucket\", or make one the default", org), FieldBucket)
}

// Create validates and stores a new config of org (B1, B2, B5): nothing is stored unless
// every field is valid and the location overlaps no other config of the platform. The
// org's first config becomes its default; a new default replaces the old one.
func (s *Service) Create(ctx context.Context, actor, org string, in Input) (store.BucketConfig, error) {
	if err := checkNickname(in.Nickname); err != nil {
		return store.BucketConfig{}, err
	}
	loc, err := credentials.ValidateBucket(credentials.BucketInput{URI: in.URI, Platform: in.Platform, EndpointURL: in.EndpointURL, Region: in.Region, Auth: in.Auth})
	if err != nil {
		return store.BucketConfig{}, err
	}
	if err := s.checkOrg(ctx, org); err != nil {
		return store.BucketConfig{}, err
	}
	id, err := newID()
	if err != nil {
		return store.BucketConfig{}, err
	}
	b := store.BucketConfig{ID: id, Org: org, Nickname: in.Nickname, Platform: string(loc.Platform), Bucket: loc.Bucket,
		Prefix: loc.Prefix, EndpointURL: in.EndpointURL, Region: in.Region, Default: in.Default,
		CreatedAt: s.now().UTC(), CreatedBy: actor}
	if err := s.setAuth(&b, in.Auth); err != nil {
		return store.BucketConfig{}, err
	}
	err = s.store.Lock(ctx, LockLocations, func(ctx context.Context) error {
		if err := s.checkOverlap(ctx, b.ID, loc); err != nil {
			return err
		}
		return s.store.WithTx(ctx, func(tx store.Tx) error { return createTx(ctx, tx, &b) })
	})
	if err != nil {
		return store.BucketConfig{}, err
	}
	if _, err := s.rel.Write(ctx, []relations.Update{{Operation: relations.OpTouch, Relationship: orgLink(org, b.Nickname)}}, nil); err != nil {
		_ = s.store.DeleteBucket(context.WithoutCancel(ctx), b.ID) // nothing half-applied
		return store.BucketConfig{}, err
	}
	return b, nil
}

// createTx stores b, making it the default when asked or when the org has none.
func createTx(ctx context.Context, tx store.Tx, b *store.BucketConfig) error {
	all, err := tx.ListBuckets(ctx, b.Org)
	if err != nil {
		return err
	}
	hasDefault := false
	for _, o := range all {
		if o.Nickname == b.Nickname {
			return exists(b.Org, b.Nickname)
		}
		if o.Default && b.Default {
			o.Default = false
			if err := tx.UpdateBucket(ctx, o); err != nil {
				return err
			}
		}
		hasDefault = hasDefault || o.Default
	}
	if !hasDefault {
		b.Default = true
	}
	err = tx.CreateBucket(ctx, *b)
	if errors.Is(err, store.ErrExists) {
		return exists(b.Org, b.Nickname)
	}
	return err
}

func exists(org, nickname string) error {
	return onField(apperr.New(apperr.Conflict, "already_exists", "org %q already has a bucket config called %q", org, nickname), "nickname")
}

// checkOverlap refuses loc when it is the same as, or overlaps, the location of any other
// config on the platform (every org's). Hold LockLocations. Another org's config is not
// named: its existence is that org's business.
func (s *Service) checkOverlap(ctx context.Context, selfID string, loc credentials.Location) error {
	all, err := s.store.ListBuckets(ctx, "")
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.ID == selfID {
			continue
		}
		ol, err := Location(o)
		if err != nil {
			return err
		}
		if ol.Overlaps(loc) {
			return onField(apperr.New(apperr.Conflict, "location_overlap",
				"%s is the same as, or overlaps, the location of another bucket config on this platform (B1)", loc.URI()), "uri")
		}
	}
	return nil
}

// setAuth puts a's non-secret fields on b and seals its secret to b.ID (B5).
func (s *Service) setAuth(b *store.BucketConfig, a credentials.Auth) error {
	b.AuthType, b.AccessKeyID, b.RoleARN, b.SealedSecret = string(a.Type), a.AccessKeyID, a.RoleARN, nil
	secret := a.SecretAccessKey
	if a.Type == credentials.AuthAWSRole {
		secret = a.ExternalID
	}
	if secret == "" {
		return nil
	}
	sealed, err := s.box.SealString(b.ID, secret)
	if err != nil {
		return err
	}
	b.SealedSecret = sealed
	return nil
}

// Auth returns b's auth with its secret opened: only for vending and IAM policies, never
// for a response.
func (s *Service) Auth(b store.BucketConfig) (credentials.Auth, error) {
	a := credentials.Auth{Type: credentials.AuthType(b.AuthType), AccessKeyID: b.AccessKeyID, RoleARN: b.RoleARN}
	if len(b.SealedSecret) == 0 {
		return a, nil
	}
	secret, err := s.box.OpenString(b.ID, b.SealedSecret)
	if err != nil {
		return a, apperr.New(apperr.Internal, "internal", "the secret of bucket config %s/%s cannot be opened", b.Org, b.Nickname).WithCause(err)
	}
	if a.Type == credentials.AuthAWSRole {
		a.ExternalID = secret
	} else {
		a.SecretAccessKey = secret
	}
	return a, nil
}

// GetByID returns the config with id; NotFound when absent.
func (s *Service) GetByID(ctx context.Context, id string) (store.BucketConfig, error) {
	b, err := s.store.GetBucketByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return b, apperr.New(apperr.NotFound, "not_found", "no bucket config with id %s", id)
	}
	return b, err
}

// onField returns e naming field, the request field it is about.
func onField(e *apperr.Error, field string) *apperr.Error {
	e.Field = field
	return e
}
