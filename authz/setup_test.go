package authz

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// One embedded SpiceDB (memory datastore, gatehouse.zed) holds the fixture every test
// reads: an activated, open platform with one admin and one org.
var (
	engineOnce sync.Once
	engine     relations.Engine
	engineErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if engine != nil {
		_ = engine.Close()
	}
	os.Exit(code)
}

// fixture is the relationships the decisions below depend on.
var fixture = []string{
	"platform:root#unlocked@user:*", "platform:root#unlocked@robot:*",
	"platform:root#unlocked@sa:*", "platform:root#unlocked@pipeline:*",
	"platform:root#admin@robot:admin",
	"org:acme#platform@platform:root", "org:acme#repos_open_to@org:acme",
	"org:acme#admin@user:alice@example.com",
	"org:acme#member@user:bob@example.com",
	"org:acme#admin@sa:ops@acme",
	"org:acme#member@sa:etl@acme",
	"repo:acme/raw#org@org:acme",
}

func sharedEngine(t *testing.T) relations.Engine {
	t.Helper()
	engineOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if engine, engineErr = relations.NewEmbedded(ctx, relations.EmbeddedConfig{}); engineErr != nil {
			return
		}
		if engineErr = engine.WriteSchema(ctx, schema.Text); engineErr != nil {
			return
		}
		var ups []relations.Update
		for _, s := range fixture {
			r, err := relations.ParseRelationship(s)
			if err != nil {
				engineErr = err
				return
			}
			ups = append(ups, relations.Update{Operation: relations.OpTouch, Relationship: r})
		}
		_, engineErr = engine.Write(ctx, ups, nil)
	})
	require.NoError(t, engineErr)
	return engine
}

// newAuthorizer returns an Authorizer over the shared engine and a real token service
// (its lifetime bounds: 1 h default, a year at most, admin power a day).
func newAuthorizer(t *testing.T) *Authorizer {
	return New(sharedEngine(t), tokens.NewService(store.NewMemory(), tokens.DefaultConfig()))
}

var (
	all  = []tokens.Grant{{Functions: []string{"*"}, Resources: []string{"*"}, Orgs: []string{"*"}}}
	read = []tokens.Grant{{Functions: []string{"read"}, Resources: []string{"*"}, Orgs: []string{"*"}}}
)

// checkRead is role checker's grants.
var checkRead = []tokens.Grant{{Functions: []string{"check", "read"}, Resources: []string{"*"}, Orgs: []string{"*"}}}

// minted sets the owner of p's parent, as Verify does.
func minted(p tokens.Principal, minter string) tokens.Principal {
	p.ParentSubject = minter
	return p
}

// principal builds what tokens.Service.Verify returns for a token.
func principal(subject, kind string, grants []tokens.Grant, parent string, life time.Duration) tokens.Principal {
	return tokens.Principal{Subject: subject, TokenID: "t-" + subject + "-" + kind, Kind: kind, Grants: grants,
		ParentID: parent, ExpiresAt: time.Now().Add(life)}
}

// principals: every kind of caller (user, robot, API key, scoped, derived).
var principals = map[string]tokens.Principal{
	"platform-admin":    principal("robot:admin", "robot", nil, "", time.Hour),
	"org-admin":         principal("user:alice@example.com", "session", nil, "", time.Hour),
	"member":            principal("user:bob@example.com", "session", nil, "", time.Hour),
	"outsider":          principal("user:eve@example.com", "session", nil, "", time.Hour),
	"robot":             principal("robot:ci", "robot", nil, "", time.Hour),
	"api-key-admin":     principal("sa:ops@acme", "api_key", nil, "", time.Hour),
	"api-key-member":    principal("sa:etl@acme", "api_key", nil, "", time.Hour),
	"derived-member":    principal("user:bob@example.com", "user", nil, "t-parent", time.Hour),
	"scoped-read":       principal("user:alice@example.com", "scoped", read, "t-parent", time.Hour),
	"scoped-admin-role": principal("robot:admin", "scoped", all, "t-parent", time.Hour),
	"checker":           minted(principal("robot:ci", "scoped", checkRead, "t-robot:admin-robot", time.Hour), "robot:admin"),
	"token-manager": principal("user:bob@example.com", "scoped", []tokens.Grant{{Functions: []string{"manage"},
		Resources: []string{"token"}, Orgs: []string{"*"}}}, "t-parent", time.Hour),
}
