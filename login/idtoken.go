package login

// ID tokens: verification (every flow) and the exchange of a trusted issuer's ID token
// (T2).

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

// person is who an ID token names.
type person struct {
	email, name string
}

// flexBool reads email_verified, which some issuers send as a string.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "true":
		*b = true
	case "false":
		*b = false
	default:
		return fmt.Errorf("email_verified: %s is not a boolean", data)
	}
	return nil
}

type personClaims struct {
	Email             string    `json:"email"`
	EmailVerified     *flexBool `json:"email_verified"`
	Name              string    `json:"name"`
	GivenName         string    `json:"given_name"`
	FamilyName        string    `json:"family_name"`
	PreferredUsername string    `json:"preferred_username"`
	AuthorizedParty   string    `json:"azp"`
}

func (c personClaims) displayName() string {
	switch {
	case c.Name != "":
		return c.Name
	case c.GivenName != "" || c.FamilyName != "":
		return strings.TrimSpace(c.GivenName + " " + c.FamilyName)
	}
	return c.PreferredUsername
}

// verifyIDToken verifies raw as an ID token of is for Gatehouse: signature against the
// issuer's JWKS with an algorithm it announces (never "none" nor HMAC), issuer, audience
// (our client id; azp too when there are several audiences), expiry, nbf, iat, the nonce
// when one is expected and at_hash when present. The email comes from the token, or from
// the userinfo endpoint when the token has none and an access token is at hand.
func (s *Service) verifyIDToken(ctx context.Context, flow string, is *issuerState, prov *oidc.Provider,
	raw string, nonce *string, accessToken string) (person, error) {
	name := is.cfg.Name
	v := prov.Verifier(&oidc.Config{ClientID: is.cfg.ClientID, Now: s.cfg.Now})
	idt, err := v.Verify(s.clientCtx(ctx), raw)
	if err != nil {
		return person{}, s.refuse(ctx, flow, name, "id token verification failed", err)
	}
	now := s.cfg.Now()
	if idt.IssuedAt.IsZero() || idt.IssuedAt.After(now.Add(clockSkew)) {
		return person{}, s.refuse(ctx, flow, name, "id token iat missing or in the future", nil)
	}
	if nonce != nil && (idt.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(*nonce)) != 1) {
		return person{}, s.refuse(ctx, flow, name, "id token nonce missing or wrong", nil)
	}
	if accessToken != "" && idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return person{}, s.refuse(ctx, flow, name, "id token at_hash does not match", err)
		}
	}
	var c personClaims
	if err := idt.Claims(&c); err != nil {
		return person{}, s.refuse(ctx, flow, name, "id token claims unreadable", err)
	}
	if len(idt.Audience) > 1 && c.AuthorizedParty != "" && c.AuthorizedParty != is.cfg.ClientID {
		return person{}, s.refuse(ctx, flow, name, "id token azp is another client", nil)
	}
	if c.Email == "" && accessToken != "" && prov.UserInfoEndpoint() != "" {
		ui, err := prov.UserInfo(s.clientCtx(ctx), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}))
		if err != nil {
			return person{}, s.refuse(ctx, flow, name, "userinfo request failed", err)
		}
		if ui.Subject != idt.Subject {
			return person{}, s.refuse(ctx, flow, name, "userinfo subject differs from the id token's", nil)
		}
		var uc personClaims
		if err := ui.Claims(&uc); err != nil {
			return person{}, s.refuse(ctx, flow, name, "userinfo claims unreadable", err)
		}
		c.Email, c.EmailVerified = uc.Email, uc.EmailVerified
		if c.displayName() == "" {
			c.Name, c.GivenName, c.FamilyName, c.PreferredUsername = uc.Name, uc.GivenName, uc.FamilyName, uc.PreferredUsername
		}
	}
	if c.Email == "" {
		return person{}, s.refuse(ctx, flow, name, "no email claim", nil)
	}
	if c.EmailVerified != nil && !bool(*c.EmailVerified) {
		return person{}, s.refuse(ctx, flow, name, "email not verified", nil)
	}
	email, err := identity.NormalizeEmail(c.Email)
	if err != nil {
		return person{}, s.refuse(ctx, flow, name, "email claim is not an email address", nil)
	}
	return person{email: email, name: c.displayName()}, nil
}

// Exchange verifies an ID token from a trusted issuer (T2), chosen by its iss claim among
// the configured ones, with its audience that issuer's client id, and returns a Gatehouse
// token and session. The ID token is dropped, never stored.
func (s *Service) Exchange(ctx context.Context, idToken string) (Result, error) {
	if strings.TrimSpace(idToken) == "" {
		return Result{}, apperr.InvalidField("id_token", "required")
	}
	iss, ok := unverifiedIssuer(idToken)
	if !ok {
		return Result{}, s.refuse(ctx, "exchange", "", "not a JWT with an iss claim", nil)
	}
	var unavailable error
	tried := false
	for _, is := range s.issuers {
		if strings.TrimSuffix(is.cfg.URL, "/") != strings.TrimSuffix(iss, "/") {
			continue
		}
		tried = true
		prov, err := s.provider(ctx, is)
		if err != nil {
			unavailable = err
			continue
		}
		who, err := s.verifyIDToken(ctx, "exchange", is, prov, idToken, nil, "")
		if err == nil {
			return s.login(ctx, is, who)
		}
	}
	if !tried {
		return Result{}, s.refuse(ctx, "exchange", "", "iss is not a trusted issuer", nil)
	}
	if unavailable != nil {
		return Result{}, unavailable
	}
	return Result{}, apperr.Unauth()
}

// unverifiedIssuer reads the iss claim of a compact JWS without verifying it, only to
// choose the issuer whose keys will verify it.
func unverifiedIssuer(jwt string) (string, bool) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || len(jwt) > 64<<10 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Iss == "" {
		return "", false
	}
	return c.Iss, true
}
