package credentials

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

// AuthType is how Gatehouse reaches a bucket (B1).
type AuthType string

// The auth types of B1.
const (
	AuthSelfManaged AuthType = "self_managed" // no credentials: callers bring their own
	AuthHMAC        AuthType = "hmac"         // access key + secret of an STS-capable store
	AuthAWSRole     AuthType = "aws_role"     // an IAM role Gatehouse assumes with an external ID
)

// Auth is a bucket config's auth, secrets in clear: decrypt them just before vending and
// never log or return this struct.
type Auth struct {
	Type            AuthType
	AccessKeyID     string // hmac
	SecretAccessKey string // hmac (secret)
	RoleARN         string // aws_role
	ExternalID      string // aws_role (secret)
}

// Validate checks the auth of a bucket config; errors name the field as the API spells it
// (auth.type, auth.access_key_id, ...).
func (a Auth) Validate() error {
	switch a.Type {
	case AuthSelfManaged:
		if a.AccessKeyID != "" || a.SecretAccessKey != "" || a.RoleARN != "" || a.ExternalID != "" {
			return apperr.InvalidField("auth", "self_managed takes no keys, role or external ID")
		}
	case AuthHMAC:
		if a.RoleARN != "" || a.ExternalID != "" {
			return apperr.InvalidField("auth", "hmac takes access_key_id and secret_access_key only")
		}
		if !accessKeyRE.MatchString(a.AccessKeyID) {
			return apperr.InvalidField("auth.access_key_id", "must be 3 to 128 letters, digits or -_.=+/")
		}
		if len(a.SecretAccessKey) < 8 || len(a.SecretAccessKey) > 256 || hasControl(a.SecretAccessKey) {
			return apperr.InvalidField("auth.secret_access_key", "must be 8 to 256 printable characters")
		}
	case AuthAWSRole:
		if a.AccessKeyID != "" || a.SecretAccessKey != "" {
			return apperr.InvalidField("auth", "aws_role takes role_arn and external_id only")
		}
		if err := ValidateRoleARN(a.RoleARN); err != nil {
			return err
		}
		return ValidateExternalID(a.ExternalID)
	default:
		return apperr.InvalidField("auth.type", "unknown auth type %q: use self_managed, hmac or aws_role", clip(string(a.Type)))
	}
	return nil
}

var (
	accessKeyRE  = regexp.MustCompile(`^[A-Za-z0-9\-_.=+/]{3,128}$`)
	roleARNRE    = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`)
	principalRE  = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:(iam::[0-9]{12}:(root|(role|user)/[A-Za-z0-9+=,.@_/-]{1,512})|sts::[0-9]{12}:assumed-role/[A-Za-z0-9+=,.@_-]{1,64}/[A-Za-z0-9+=,.@_-]{2,64})$`)
	externalIDRE = regexp.MustCompile(`^[A-Za-z0-9+=,.@:/_-]+$`)
)

// ValidateRoleARN checks an IAM role ARN (arn:aws:iam::123456789012:role/name); the error
// names the field "auth.role_arn".
func ValidateRoleARN(arn string) error {
	if !roleARNRE.MatchString(arn) {
		return apperr.InvalidField("auth.role_arn", "must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)")
	}
	return nil
}

// ValidateExternalID checks an external ID against STS's rules; the error names the field
// "auth.external_id" and never repeats the value (it is a secret).
func ValidateExternalID(id string) error {
	if len(id) < 2 || len(id) > 1224 || !externalIDRE.MatchString(id) {
		return apperr.InvalidField("auth.external_id", "must be 2 to 1224 letters, digits or +=,.@:/_-")
	}
	return nil
}

// ValidatePrincipalARN checks the ARN of Gatehouse's own AWS principal (an account root,
// a role, a user or an assumed-role session); the error names "principal_arn".
func ValidatePrincipalARN(arn string) error {
	if !principalRE.MatchString(arn) {
		return apperr.InvalidField("principal_arn", "must be an IAM principal ARN (arn:aws:iam::<account>:root, role/<name> or user/<name>)")
	}
	return nil
}

// ValidateEndpoint checks an endpoint URL from a bucket config's extra config: http or
// https, a host, and nothing after the path (no user info, query or fragment). The error
// names the field "extra_config.endpoint_url". Empty is allowed (the platform's default).
func ValidateEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.ContainsAny(endpoint, " \t\r\n") {
		return apperr.InvalidField("extra_config.endpoint_url", "%q is not an http(s) URL of the form scheme://host[:port][/path]", clip(endpoint))
	}
	if metadataHost(u.Hostname()) {
		return apperr.InvalidField("extra_config.endpoint_url", "%q is a link-local, unspecified or cloud metadata address, never an object store: "+
			"Gatehouse would send the config's keys there", clip(endpoint))
	}
	return nil
}

// metadataHost reports whether host is an address no object store has and a cloud's
// instance metadata service does (169.254.169.254, fd00:ec2::254, metadata.google.internal):
// link-local, unspecified or multicast IPs, and the metadata names. Vending calls the
// endpoint with the config's keys (hmac on an STS-capable store), so an org admin must not
// be able to aim those calls at the metadata service of the host Gatehouse runs on.
// Loopback and private addresses stay allowed: on-premises stores live there.
func metadataHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "metadata" || h == "metadata.google.internal" || strings.HasSuffix(h, ".metadata.google.internal") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	return ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() ||
		ip.IsUnspecified() || ip == netip.MustParseAddr("fd00:ec2::254")
}

// ValidateRegion checks a region name (us-east-1); empty is allowed. The error names the
// field "extra_config.region".
func ValidateRegion(region string) error {
	if region != "" && !regionRE.MatchString(region) {
		return apperr.InvalidField("extra_config.region", "%q is not a region name (letters, digits and -)", clip(region))
	}
	return nil
}

var regionRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// SessionName turns a caller (a typed subject such as user:alice@example.com) into an STS
// role session name: 2 to 64 characters of [A-Za-z0-9+=,.@_-]. Other characters become
// '_'; a name that does not fit keeps its start and ends in a hash of the whole caller, so
// two callers never share a session name and the store's access log leads back to one.
func SessionName(caller string) string {
	const maxLen, hashLen = 64, 12
	var b strings.Builder
	b.WriteString("gh.")
	for _, r := range caller {
		if r < 0x80 && sessionChar(byte(r)) {
			b.WriteByte(byte(r))
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) <= maxLen && name == "gh."+caller {
		return name
	}
	sum := sha256.Sum256([]byte(caller))
	tail := "-" + hex.EncodeToString(sum[:])[:hashLen]
	if len(name) > maxLen-len(tail) {
		name = name[:maxLen-len(tail)]
	}
	return name + tail
}

func sessionChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+=,.@_-", c) >= 0
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
