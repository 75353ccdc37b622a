package buckets

import (
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Patch is a change of a config; nil fields stay as they are. Auth replaces the whole
// auth (type and keys) when given.
type Patch struct {
	Nickname    *string
	URI         *string
	Platform    *string
	EndpointURL *string
	Region      *string
	Auth        *credentials.Auth
	Default     *bool
}

func (p Patch) movesLocation() bool {
	return p.URI != nil || p.Platform != nil || p.EndpointURL != nil || p.Region != nil || p.Auth != nil
}

// locked runs fn holding the config's lock, with the config re-read under it: NotFound
// when it was deleted or renamed meanwhile.
func (s *Service) locked(ctx context.Context, org, nickname string, fn func(ctx context.Context, cur store.BucketConfig) error) error {
	first, err := s.Get(ctx, org, nickname)
	if err != nil {
		return err
	}
	return s.store.Lock(ctx, LockName(first.ID), func(ctx context.Context) error {
		cur, err := s.store.GetBucketByID(ctx, first.ID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (cur.Org != org || cur.Nickname != nickname)) {
			return notFound(org, nickname)
		}
		if err != nil {
			return err
		}
		return fn(ctx, cur)
	})
}

// UsedBy returns the repos ("org/name") using b: those stored on it and any repo whose
// repo#bucket relationship names it.
func (s *Service) UsedBy(ctx context.Context, b store.BucketConfig) ([]string, error) {
	rows, err := s.store.ListReposInBucket(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Org+"/"+r.Name)
	}
	obj := Object(b.Org, b.Nickname)
	links, err := s.rel.Read(ctx, relations.Filter{ResourceType: schema.TypeRepo, Relation: schema.RelBucket, SubjectType: obj.Type, SubjectID: obj.ID}, relations.Consistency{Full: true})
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		out = append(out, l.Resource.ID)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func inUse(b store.BucketConfig, repos []string, what string) error {
	if repos == nil {
		repos = []string{}
	}
	return apperr.New(apperr.Conflict, "bucket_in_use", "bucket config %s/%s is used by %d repos: %s", b.Org, b.Nickname, len(repos), what).
		WithDetails("repos", repos)
}

// Update changes a config (B3): while any repo uses it only the nickname (and whether it
// is the default) can change; anything else is refused with details.repos. A new location
// is validated and checked for overlap like a new config's.
func (s *Service) Update(ctx context.Context, org, nickname string, p Patch) (store.BucketConfig, error) {
	if p.Nickname != nil {
		if err := checkNickname(*p.Nickname); err != nil {
			return store.BucketConfig{}, err
		}
	}
	var out store.BucketConfig
	err := s.locked(ctx, org, nickname, func(ctx context.Context, cur store.BucketConfig) error {
		next, err := s.apply(cur, p)
		if err != nil {
			return err
		}
		if !cur.SameLocation(next) {
			repos, err := s.UsedBy(ctx, cur)
			if err != nil {
				return err
			}
			if len(repos) > 0 {
				return inUse(cur, repos, "while in use only its nickname can change (B3)")
			}
			loc, _ := Location(next) // validated by apply
			err = s.store.Lock(ctx, LockLocations, func(ctx context.Context) error {
				if err := s.checkOverlap(ctx, cur.ID, loc); err != nil {
					return err
				}
				return s.save(ctx, cur, next)
			})
			if err != nil {
				return err
			}
		} else if err := s.save(ctx, cur, next); err != nil {
			return err
		}
		if err := s.renameLinks(ctx, cur, next); err != nil {
			_ = s.store.UpdateBucket(context.WithoutCancel(ctx), cur) // nothing half-applied
			return err
		}
		out = next
		return nil
	})
	return out, err
}

// apply returns cur changed by p, validated as a whole.
func (s *Service) apply(cur store.BucketConfig, p Patch) (store.BucketConfig, error) {
	next := cur
	if p.Nickname != nil {
		next.Nickname = *p.Nickname
	}
	if p.Default != nil {
		next.Default = *p.Default
	}
	if !p.movesLocation() {
		return next, nil
	}
	curLoc, err := Location(cur)
	if err != nil {
		return next, err
	}
	auth, err := s.Auth(cur)
	if err != nil {
		return next, err
	}
	in := credentials.BucketInput{URI: curLoc.URI(), EndpointURL: cur.EndpointURL, Region: cur.Region, Auth: auth}
	for _, f := range []struct {
		from *string
		to   *string
	}{{p.URI, &in.URI}, {p.Platform, &in.Platform}, {p.EndpointURL, &in.EndpointURL}, {p.Region, &in.Region}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if p.Auth != nil {
		in.Auth = *p.Auth
	}
	loc, err := credentials.ValidateBucket(in)
	if err != nil {
		return next, err
	}
	next.Platform, next.Bucket, next.Prefix = string(loc.Platform), loc.Bucket, loc.Prefix
	next.EndpointURL, next.Region = in.EndpointURL, in.Region
	if in.Auth != auth { // keep the sealed value of an unchanged secret
		if err := s.setAuth(&next, in.Auth); err != nil {
			return next, err
		}
	}
	return next, nil
}

// save stores next, making it the org's only default when it becomes the default.
func (s *Service) save(ctx context.Context, cur, next store.BucketConfig) error {
	return s.store.WithTx(ctx, func(tx store.Tx) error {
		if next.Default && !cur.Default {
			all, err := tx.ListBuckets(ctx, cur.Org)
			if err != nil {
				return err
			}
			for _, o := range all {
				if o.Default && o.ID != cur.ID {
					o.Default = false
					if err := tx.UpdateBucket(ctx, o); err != nil {
						return err
					}
				}
			}
		}
		switch err := tx.UpdateBucket(ctx, next); {
		case errors.Is(err, store.ErrExists):
			return exists(cur.Org, next.Nickname)
		case errors.Is(err, store.ErrConflict):
			return inUse(cur, nil, "while in use only its nickname can change (B3)")
		default:
			return err
		}
	})
}

// renameLinks moves the config's relationships (bucket#org, every repo#bucket naming it)
// to its new nickname, in one write.
func (s *Service) renameLinks(ctx context.Context, cur, next store.BucketConfig) error {
	if cur.Nickname == next.Nickname {
		return nil
	}
	from, to := Object(cur.Org, cur.Nickname), Object(next.Org, next.Nickname)
	links, err := s.rel.Read(ctx, relations.Filter{ResourceType: schema.TypeRepo, Relation: schema.RelBucket, SubjectType: from.Type, SubjectID: from.ID}, relations.Consistency{Full: true})
	if err != nil {
		return err
	}
	updates := []relations.Update{
		{Operation: relations.OpDelete, Relationship: orgLink(cur.Org, cur.Nickname)},
		{Operation: relations.OpTouch, Relationship: orgLink(next.Org, next.Nickname)},
	}
	for _, l := range links {
		moved := l
		moved.Subject = relations.Subject{Object: to}
		updates = append(updates, relations.Update{Operation: relations.OpDelete, Relationship: l},
			relations.Update{Operation: relations.OpTouch, Relationship: moved})
	}
	_, err = s.rel.Write(ctx, updates, nil)
	return err
}

// Delete deletes an unused config for good (B4); one in use is refused with details.repos.
func (s *Service) Delete(ctx context.Context, org, nickname string) error {
	return s.locked(ctx, org, nickname, func(ctx context.Context, cur store.BucketConfig) error {
		repos, err := s.UsedBy(ctx, cur)
		if err != nil {
			return err
		}
		if len(repos) > 0 {
			return inUse(cur, repos, "delete them first (B4)")
		}
		if err := s.store.DeleteBucket(ctx, cur.ID); errors.Is(err, store.ErrConflict) {
			return inUse(cur, nil, "delete them first (B4)")
		} else if err != nil {
			return err
		}
		_, err = s.rel.DeleteMatching(ctx, relations.Filter{ResourceType: schema.TypeBucket, ResourceID: Object(org, nickname).ID})
		return err
	})
}

// IAMPolicies renders the permission and trust policies the bucket owner installs for an
// aws_role config (B7).
func (s *Service) IAMPolicies(ctx context.Context, org, nickname string) (permission, trust credentials.PolicyDocument, err error) {
	b, err := s.Get(ctx, org, nickname)
	if err != nil {
		return permission, trust, err
	}
	if b.AuthType != string(credentials.AuthAWSRole) {
		return permission, trust, apperr.New(apperr.Conflict, "not_aws_role", "bucket config %s/%s uses %s auth: IAM policies are for aws_role configs (B7)", org, nickname, b.AuthType)
	}
	if s.principal == "" {
		return permission, trust, apperr.New(apperr.Conflict, "not_configured", "Gatehouse's AWS principal is not configured (--aws-principal-arn): the trust policy cannot name it")
	}
	loc, err := Location(b)
	if err != nil {
		return permission, trust, err
	}
	auth, err := s.Auth(b)
	if err != nil {
		return permission, trust, err
	}
	return credentials.IAMPolicies(loc, s.principal, auth.ExternalID)
}

// Target is where a repo's credentials are for (contract D1): the repo's location (its
// config's bucket and r.Prefix) and its config's auth with the secret opened. It reads the
// repo's own config row, never a relationship, and re-validates the location, so nothing
// but a stored, validated config can reach a policy.
func (s *Service) Target(ctx context.Context, r store.Repo) (credentials.Target, error) {
	b, err := s.store.GetBucketByID(ctx, r.BucketID)
	if errors.Is(err, store.ErrNotFound) {
		return credentials.Target{}, apperr.New(apperr.NotFound, "not_found", "repo %s/%s has no bucket config", r.Org, r.Name)
	} else if err != nil {
		return credentials.Target{}, err
	}
	if b.Org != r.Org {
		return credentials.Target{}, apperr.New(apperr.Internal, "internal", "repo %s/%s points at another org's bucket config", r.Org, r.Name)
	}
	base, err := Location(b)
	if err != nil {
		return credentials.Target{}, err
	}
	loc, err := credentials.NewLocation(b.Platform, b.Bucket, r.Prefix)
	if err != nil || loc.Prefix == "" || !base.Contains(loc) {
		return credentials.Target{}, apperr.New(apperr.Internal, "internal", "repo %s/%s has a prefix outside its bucket config", r.Org, r.Name)
	}
	auth, err := s.Auth(b)
	if err != nil {
		return credentials.Target{}, err
	}
	return credentials.Target{Location: loc, Auth: auth, EndpointURL: b.EndpointURL, Region: b.Region}, nil
}
