package api

import (
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/orgs"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// The API's wire types are client/'s (issue 8.5): domain values are converted to them
// here, at the edge, so a domain type never answers a request directly.

func toOrg(o store.Org) client.Org {
	return client.Org{Name: o.Name, RepoAccess: o.RepoAccess, CreatedAt: o.CreatedAt, CreatedBy: o.CreatedBy}
}

func toMember(m orgs.Member) client.Member {
	return client.Member{Subject: m.Subject, Role: m.Role}
}

func toMembers(ms []orgs.Member) []client.Member {
	out := make([]client.Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMember(m))
	}
	return out
}

func toKeyInfo(k orgs.KeyInfo) client.APIKeyInfo {
	return client.APIKeyInfo{ID: k.ID, Name: k.Name, Subject: k.Subject, Account: k.Account, Role: k.Role,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, CreatedBy: k.CreatedBy}
}

func toKeyInfos(ks []orgs.KeyInfo) []client.APIKeyInfo {
	out := make([]client.APIKeyInfo, 0, len(ks))
	for _, k := range ks {
		out = append(out, toKeyInfo(k))
	}
	return out
}

func toNewKey(k orgs.NewKey) client.NewAPIKey {
	return client.NewAPIKey{APIKeyInfo: toKeyInfo(k.KeyInfo), Token: k.Token}
}

func toTokenInfos(list []tokens.Info) []client.TokenInfo {
	out := make([]client.TokenInfo, 0, len(list))
	for _, i := range list {
		out = append(out, client.TokenInfo{ID: i.ID, Subject: i.Subject, Kind: i.Kind, Role: i.Role, Scoped: i.Scoped,
			CreatedAt: i.CreatedAt, ExpiresAt: i.ExpiresAt, RevokedAt: i.RevokedAt})
	}
	return out
}

func minted(m tokens.Minted) client.MintResponse {
	return client.MintResponse{ID: m.ID, Subject: m.Subject, Token: m.Token, ExpiresAt: m.ExpiresAt, Capped: m.Capped}
}

// toGrants converts a mint request's grants; nil stays nil (an unscoped token).
func toGrants(gs []client.Grant) []tokens.Grant {
	if gs == nil {
		return nil
	}
	out := make([]tokens.Grant, 0, len(gs))
	for _, g := range gs {
		out = append(out, tokens.Grant{Functions: g.Functions, Resources: g.Resources, Orgs: g.Orgs})
	}
	return out
}
