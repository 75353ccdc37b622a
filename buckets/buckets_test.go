package buckets_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/buckets"
	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/internal/seal"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/repos"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

type fixture struct {
	ctx   context.Context
	st    store.Store
	rel   relations.Engine
	b     *buckets.Service
	repos *repos.Service
}

const principal = "arn:aws:iam::123456789012:role/gatehouse"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	engine, err := relations.NewEmbedded(ctx, relations.EmbeddedConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = engine.Close() })
	require.NoError(t, engine.WriteSchema(ctx, schema.Text))
	st := store.NewMemory()
	rel := guard.New(engine, st)
	key, _, err := seal.GenerateKey()
	require.NoError(t, err)
	box, err := seal.New(key)
	require.NoError(t, err)
	b := buckets.New(st, rel, box, principal)
	for _, org := range []string{"acme", "beta"} {
		require.NoError(t, st.CreateOrg(ctx, store.Org{Name: org, RepoAccess: store.RepoAccessMembers}))
	}
	return &fixture{ctx: ctx, st: st, rel: rel, b: b, repos: repos.New(st, rel, b)}
}

func hmac(nick, uri string) buckets.Input {
	return buckets.Input{Nickname: nick, URI: uri, EndpointURL: "http://127.0.0.1:9000",
		Auth: credentials.Auth{Type: credentials.AuthHMAC, AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "s3cr3t-key-1"}}
}

func code(t *testing.T, err error) string {
	t.Helper()
	var ae *apperr.Error
	require.ErrorAs(t, err, &ae)
	return ae.Code
}

var ann = relations.Subject{Object: relations.Object{Type: schema.TypeUser, ID: "ann@example.com"}}

// TestSecretsSealedAndTarget: B5 secrets are sealed to their row (a copy to another row
// does not open) and Target opens them for vending with the repo's own prefix (R4).
func TestSecretsSealedAndTarget(t *testing.T) {
	f := newFixture(t)
	prod, err := f.b.Create(f.ctx, "user:ann@example.com", "acme", hmac("prod", "minio://acme-data/base"))
	require.NoError(t, err)
	require.True(t, prod.Default, "the org's first config is its default")
	require.NotContains(t, string(prod.SealedSecret), "s3cr3t", "B5: sealed at rest")
	other, err := f.b.Create(f.ctx, "user:ann@example.com", "acme", hmac("other", "minio://acme-other"))
	require.NoError(t, err)
	require.False(t, other.Default)

	r, cfg, err := f.repos.Create(f.ctx, ann, "acme", "x", "")
	require.NoError(t, err)
	require.Equal(t, prod.ID, cfg.ID, "R4: the default when none is named")
	require.Regexp(t, `^base/acme/x-[0-9a-f]{16}/$`, r.Prefix)
	tgt, err := f.b.Target(f.ctx, r)
	require.NoError(t, err)
	require.Equal(t, "s3cr3t-key-1", tgt.Auth.SecretAccessKey)
	require.Equal(t, r.Prefix, tgt.Location.Prefix)
	require.Equal(t, "acme-data", tgt.Location.Bucket)

	// Ciphertext copied to another row fails to open there.
	moved := other
	moved.SealedSecret = prod.SealedSecret
	_, err = f.b.Auth(moved)
	require.Error(t, err)

	// A second repo of the same name after deletion gets a new prefix (R4).
	require.NoError(t, f.repos.Delete(f.ctx, "acme", "x"))
	r2, _, err := f.repos.Create(f.ctx, ann, "acme", "x", "prod")
	require.NoError(t, err)
	require.NotEqual(t, r.Prefix, r2.Prefix)
}

// TestBucketRules: B1 overlap across orgs, one default, B3, B4, B7.
func TestBucketRules(t *testing.T) {
	f := newFixture(t)
	_, err := f.b.Create(f.ctx, "user:ann@example.com", "acme", hmac("prod", "s3://shared-data/a"))
	require.NoError(t, err)
	for _, uri := range []string{"s3://shared-data/a", "s3://shared-data/a/x", "s3://shared-data", "minio://shared-data/a"} {
		_, err = f.b.Create(f.ctx, "user:bob@example.com", "beta", hmac("mine", uri))
		require.Equal(t, "location_overlap", code(t, err), uri)
	}
	_, err = f.b.Create(f.ctx, "user:bob@example.com", "beta", hmac("mine", "s3://shared-data/ab"))
	require.NoError(t, err, "s3://b/a and s3://b/ab do not overlap")
	_, err = f.b.Create(f.ctx, "user:ann@example.com", "acme", hmac("prod", "s3://elsewhere"))
	require.Equal(t, "already_exists", code(t, err))
	for _, bad := range []buckets.Input{hmac("", "s3://ok-data"), hmac("a*b", "s3://ok-data"), hmac("ok", "ftp://ok-data"), hmac("ok", "s3://ok-data/a*"), hmac("ok", "s3://ok-data/$x")} {
		_, err = f.b.Create(f.ctx, "user:ann@example.com", "acme", bad)
		require.Equal(t, apperr.Invalid, apperr.KindOf(err), "%+v", bad)
	}

	// A new default replaces the old one.
	dev, err := f.b.Create(f.ctx, "user:ann@example.com", "acme", func() buckets.Input { in := hmac("dev", "s3://acme-dev"); in.Default = true; return in }())
	require.NoError(t, err)
	require.True(t, dev.Default)
	prod, err := f.b.Get(f.ctx, "acme", "prod")
	require.NoError(t, err)
	require.False(t, prod.Default)

	// B3: in use, only the nickname; the repo's relationship follows the rename.
	_, _, err = f.repos.Create(f.ctx, ann, "acme", "x", "prod")
	require.NoError(t, err)
	uri := "s3://acme-moved"
	_, err = f.b.Update(f.ctx, "acme", "prod", buckets.Patch{URI: &uri})
	require.Equal(t, "bucket_in_use", code(t, err))
	nick := "production"
	_, err = f.b.Update(f.ctx, "acme", "prod", buckets.Patch{Nickname: &nick})
	require.NoError(t, err)
	links, err := f.rel.Read(f.ctx, relations.Filter{ResourceType: schema.TypeRepo, ResourceID: "acme/x", Relation: schema.RelBucket}, relations.Consistency{Full: true})
	require.NoError(t, err)
	require.Len(t, links, 1)
	require.Equal(t, "acme/production", links[0].Subject.ID)

	// B4: in use, refused with the repos; unused, final.
	err = f.b.Delete(f.ctx, "acme", "production")
	require.Equal(t, "bucket_in_use", code(t, err))
	var ae *apperr.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, []string{"acme/x"}, ae.Details["repos"])
	require.NoError(t, f.repos.Delete(f.ctx, "acme", "x"))
	require.NoError(t, f.b.Delete(f.ctx, "acme", "production"))
	_, err = f.b.Get(f.ctx, "acme", "production")
	require.Equal(t, apperr.NotFound, apperr.KindOf(err))

	// B7.
	_, _, err = f.b.IAMPolicies(f.ctx, "acme", "dev")
	require.Equal(t, "not_aws_role", code(t, err))
	_, err = f.b.Create(f.ctx, "user:ann@example.com", "acme", buckets.Input{Nickname: "role", URI: "s3://acme-role/p",
		Auth: credentials.Auth{Type: credentials.AuthAWSRole, RoleARN: "arn:aws:iam::123456789012:role/data", ExternalID: "ext-123"}})
	require.NoError(t, err)
	perm, trust, err := f.b.IAMPolicies(f.ctx, "acme", "role")
	require.NoError(t, err)
	require.Contains(t, perm.String(), "arn:aws:s3:::acme-role/p/*")
	require.Contains(t, trust.String(), "ext-123")
	require.Contains(t, trust.String(), principal)
}

// TestUpdateRevalidates: a later change of an unused config goes through the same checks
// as a new one (Polaris 2026: no location moved outside the checks): validation, overlap
// with every org's configs, and a new secret sealed to the row.
func TestUpdateRevalidates(t *testing.T) {
	f := newFixture(t)
	_, err := f.b.Create(f.ctx, "user:ann@example.com", "acme", hmac("prod", "s3://acme-data/a"))
	require.NoError(t, err)
	_, err = f.b.Create(f.ctx, "user:bob@example.com", "beta", hmac("theirs", "s3://beta-data"))
	require.NoError(t, err)
	for uri, want := range map[string]string{"s3://beta-data/x": "location_overlap", "s3://beta-data": "location_overlap", "s3://acme-data/a*": "invalid_argument", "ftp://x": "invalid_argument"} {
		_, err = f.b.Update(f.ctx, "acme", "prod", buckets.Patch{URI: &uri})
		require.Equal(t, want, code(t, err), uri)
	}
	bad := "http://h/?x=1"
	_, err = f.b.Update(f.ctx, "acme", "prod", buckets.Patch{EndpointURL: &bad})
	require.Equal(t, "invalid_argument", code(t, err))
	uri := "s3://acme-data/b"
	auth := credentials.Auth{Type: credentials.AuthHMAC, AccessKeyID: "AKIANEW", SecretAccessKey: "new-secret-9"}
	got, err := f.b.Update(f.ctx, "acme", "prod", buckets.Patch{URI: &uri, Auth: &auth})
	require.NoError(t, err)
	require.Equal(t, "b/", got.Prefix)
	opened, err := f.b.Auth(got)
	require.NoError(t, err)
	require.Equal(t, "new-secret-9", opened.SecretAccessKey)
	stored, err := f.st.GetBucket(f.ctx, "acme", "prod")
	require.NoError(t, err)
	require.Equal(t, got, stored, "what Update returned is what is stored")
}
