package login

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Defaults for Config.
const (
	DefaultSessionTTL = 12 * time.Hour
	DefaultAccessTTL  = time.Hour
	// PendingTTL is how long a started login (browser, copy-code or device) may wait for
	// its user.
	PendingTTL = 10 * time.Minute
	// MaxPending bounds the logins waiting at once, so that starting logins in a loop
	// cannot exhaust memory.
	MaxPending = 100000
)

// The callback URL of a copy-code login carries ModeParam=ModeCopyCode, so that the
// callback page shows the code for the user to paste into the terminal instead of
// finishing a browser login (see Config.CopyCodeRedirectURL).
const (
	ModeParam    = "mode"
	ModeCopyCode = "copy_code"
	ModeDevice   = "device"
)

// DefaultScopes are requested when an issuer names none.
var DefaultScopes = []string{"openid", "email", "profile"}

// Issuer is one trusted OpenID provider: Google, GitHub (through an OIDC bridge),
// Microsoft, or any standard issuer.
type Issuer struct {
	Name         string   // how users and the API name it: lowercase letters, digits, '-', '_'
	URL          string   // the issuer URL, exactly as in its discovery document's "issuer"
	ClientID     string   // Gatehouse's client id at this issuer: the audience of its ID tokens
	ClientSecret string   // empty for a public client (PKCE only)
	Scopes       []string // default DefaultScopes; "openid" is always requested
}

// Config configures the login service.
type Config struct {
	Issuers []Issuer
	// RedirectURL is Gatehouse's callback, e.g. https://gatehouse.example/api/v1/auth/callback.
	// It must be registered at every issuer.
	RedirectURL string
	// CopyCodeRedirectURL is the callback of copy-code logins; default RedirectURL with
	// ModeParam=ModeCopyCode added to its query. It must be registered at every issuer
	// used for terminal logins without a device endpoint.
	CopyCodeRedirectURL string
	SessionTTL          time.Duration // default DefaultSessionTTL; a session never outlives it
	AccessTTL           time.Duration // default DefaultAccessTTL; bounded by the session's remaining life
	// AllowInsecureHTTP accepts http:// issuer and redirect URLs on hosts other than
	// loopback ones (development only).
	AllowInsecureHTTP bool
	Now               func() time.Time // default time.Now
	HTTPClient        *http.Client     // talks to the issuers; default a client with a 15 s timeout
	Logger            *slog.Logger     // default slog.Default()
}

var issuerNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)

// withDefaults returns c with every unset optional field set.
func (c Config) withDefaults() Config {
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.AccessTTL == 0 {
		c.AccessTTL = DefaultAccessTTL
	}
	if c.AccessTTL > c.SessionTTL && c.SessionTTL > 0 {
		c.AccessTTL = c.SessionTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.CopyCodeRedirectURL == "" && c.RedirectURL != "" {
		if u, err := url.Parse(c.RedirectURL); err == nil {
			q := u.Query()
			q.Set(ModeParam, ModeCopyCode)
			u.RawQuery = q.Encode()
			c.CopyCodeRedirectURL = u.String()
		}
	}
	issuers := make([]Issuer, len(c.Issuers))
	for i, is := range c.Issuers {
		if len(is.Scopes) == 0 {
			is.Scopes = slices.Clone(DefaultScopes)
		} else if !slices.Contains(is.Scopes, "openid") {
			is.Scopes = append([]string{"openid"}, is.Scopes...)
		}
		issuers[i] = is
	}
	c.Issuers = issuers
	return c
}

// Validate checks the configuration (with its defaults applied) and names the first bad
// field, e.g. "issuers[1].url: ...".
func (c Config) Validate() error {
	c = c.withDefaults()
	if len(c.Issuers) == 0 {
		return fmt.Errorf("issuers: at least one issuer is required")
	}
	names := map[string]bool{}
	for i, is := range c.Issuers {
		f := fmt.Sprintf("issuers[%d]", i)
		switch {
		case !issuerNameRE.MatchString(is.Name):
			return fmt.Errorf("%s.name: %q must be 1-63 lowercase letters, digits, '-' or '_'", f, is.Name)
		case names[is.Name]:
			return fmt.Errorf("%s.name: %q is used twice", f, is.Name)
		case strings.TrimSpace(is.ClientID) == "":
			return fmt.Errorf("%s.client_id: required", f)
		}
		names[is.Name] = true
		if err := checkURL(is.URL, c.AllowInsecureHTTP); err != nil {
			return fmt.Errorf("%s.url: %w", f, err)
		}
		for j, sc := range is.Scopes {
			if sc == "" || strings.ContainsAny(sc, " \t\r\n\"\\") {
				return fmt.Errorf("%s.scopes[%d]: %q is not a valid scope", f, j, sc)
			}
		}
	}
	if err := checkURL(c.RedirectURL, c.AllowInsecureHTTP); err != nil {
		return fmt.Errorf("redirect_url: %w", err)
	}
	if err := checkURL(c.CopyCodeRedirectURL, c.AllowInsecureHTTP); err != nil {
		return fmt.Errorf("copy_code_redirect_url: %w", err)
	}
	switch {
	case c.SessionTTL < time.Minute:
		return fmt.Errorf("session_ttl: %s must be at least 1m", c.SessionTTL)
	case c.AccessTTL < time.Minute:
		return fmt.Errorf("access_ttl: %s must be at least 1m", c.AccessTTL)
	}
	return nil
}

// checkURL requires an absolute https URL without fragment (http on loopback hosts, or
// anywhere when insecure is allowed).
func checkURL(raw string, insecure bool) error {
	if raw == "" {
		return fmt.Errorf("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.Host == "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must be an absolute URL without user info or fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !insecure && !loopback(u.Hostname()) {
			return fmt.Errorf("%q must use https (http is accepted for loopback hosts only)", raw)
		}
	default:
		return fmt.Errorf("%q must be an https URL", raw)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
