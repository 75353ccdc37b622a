package credentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

// AssumeRoler is the one STS call vending needs; *sts.Client satisfies it. AssumeRole
// returns temporary credentials for the role (or, on MinIO, for the calling user) narrowed
// by the inline session policy of the input.
type AssumeRoler interface {
	AssumeRole(ctx context.Context, params *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// STS's bounds on a session's lifetime.
const (
	MinDuration = 15 * time.Minute
	MaxDuration = 12 * time.Hour
)

// Config bounds the lifetime of vended credentials (B6).
type Config struct {
	DefaultDuration time.Duration // when the caller names none; 1h by default
	MinDuration     time.Duration // at least 15m (STS's minimum)
	MaxDuration     time.Duration // at most 12h (STS's maximum)
}

// DefaultConfig is 1h by default, anything from 15m to 12h on request.
func DefaultConfig() Config {
	return Config{DefaultDuration: time.Hour, MinDuration: MinDuration, MaxDuration: MaxDuration}
}

// Validate checks the bounds are coherent and within STS's.
func (c Config) Validate() error {
	switch {
	case c.MinDuration < MinDuration || c.MaxDuration > MaxDuration:
		return fmt.Errorf("credential durations must lie within %s..%s, not %s..%s", MinDuration, MaxDuration, c.MinDuration, c.MaxDuration)
	case c.MinDuration > c.MaxDuration:
		return fmt.Errorf("minimum credential duration %s exceeds the maximum %s", c.MinDuration, c.MaxDuration)
	case c.DefaultDuration < c.MinDuration || c.DefaultDuration > c.MaxDuration:
		return fmt.Errorf("default credential duration %s lies outside %s..%s", c.DefaultDuration, c.MinDuration, c.MaxDuration)
	}
	return nil
}

// Target is where credentials are for: a repo's location and its bucket config's auth and
// extra config, secrets decrypted.
type Target struct {
	Location    Location
	Auth        Auth
	EndpointURL string
	Region      string
}

// Request is one ask for credentials. The caller's right to Access on the repo has been
// checked before (authz); Caller is the typed subject who asks, carried in the STS session
// name so that the store's access log leads back to a person.
type Request struct {
	Target   Target
	Access   Access
	Duration time.Duration // 0: the configured default
	Caller   string
}

// Credentials is what a vend returns. For self_managed configs the keys are empty and only
// the location is given.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	Platform        Platform
	Bucket          string
	Prefix          string
	EndpointURL     string
	Region          string
	Access          Access
	SessionName     string // the STS role session name, "" when no STS was called
}

// HasKeys reports whether c carries temporary keys (false for self_managed).
func (c Credentials) HasKeys() bool { return c.AccessKeyID != "" }

// Vendor turns a checked request into temporary credentials scoped to one prefix.
type Vendor struct {
	cfg     Config
	awsSTS  AssumeRoler
	hmacSTS func(endpoint, region, accessKeyID, secret string) AssumeRoler
}

// Option configures a Vendor.
type Option func(*Vendor)

// WithAWSSTS sets the STS client that assumes aws_role roles with Gatehouse's own AWS
// identity. Without it aws_role configs are refused.
func WithAWSSTS(c AssumeRoler) Option { return func(v *Vendor) { v.awsSTS = c } }

// WithHMACSTS replaces how an STS client is made for an hmac config (default: NewHMACSTS).
func WithHMACSTS(f func(endpoint, region, accessKeyID, secret string) AssumeRoler) Option {
	return func(v *Vendor) { v.hmacSTS = f }
}

// NewVendor returns a Vendor with the lifetime bounds of cfg.
func NewVendor(cfg Config, opts ...Option) (*Vendor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &Vendor{cfg: cfg, hmacSTS: NewHMACSTS}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// Duration resolves a requested lifetime: 0 gives the default; anything outside the
// configured bounds is refused, naming the field "duration".
func (v *Vendor) Duration(d time.Duration) (time.Duration, error) {
	if d == 0 {
		return v.cfg.DefaultDuration, nil
	}
	if d < v.cfg.MinDuration || d > v.cfg.MaxDuration {
		return 0, apperr.InvalidField("duration", "%s is outside the allowed %s..%s", d, v.cfg.MinDuration, v.cfg.MaxDuration)
	}
	if d%time.Second != 0 {
		return 0, apperr.InvalidField("duration", "%s is not a whole number of seconds", d)
	}
	return d, nil
}

// Vend returns temporary credentials for req (B6): aws_role assumes the role with its
// external ID, hmac calls AssumeRole at the store's own STS with the stored keys, both
// with the session policy of the location and access; self_managed returns the location
// only. What cannot be scoped is refused with the reason; stored keys are never returned.
func (v *Vendor) Vend(ctx context.Context, req Request) (Credentials, error) {
	t := req.Target
	if _, err := ParseAccess(string(req.Access)); err != nil {
		return Credentials{}, err
	}
	d, err := v.Duration(req.Duration)
	if err != nil {
		return Credentials{}, err
	}
	if err := checkPolicyLocation(t.Location); err != nil {
		return Credentials{}, err
	}
	if err := t.Auth.Validate(); err != nil {
		return Credentials{}, err
	}
	if err := ValidateEndpoint(t.EndpointURL); err != nil {
		return Credentials{}, err
	}
	if err := ValidateRegion(t.Region); err != nil {
		return Credentials{}, err
	}
	out := Credentials{
		Platform: t.Location.Platform, Bucket: t.Location.Bucket, Prefix: t.Location.Prefix,
		EndpointURL: t.EndpointURL, Region: t.Region, Access: req.Access,
	}
	if t.Auth.Type == AuthSelfManaged {
		return out, nil
	}
	client, roleARN, err := v.stsFor(t)
	if err != nil {
		return Credentials{}, err
	}
	doc, err := SessionPolicy(t.Location, req.Access)
	if err != nil {
		return Credentials{}, err
	}
	policy, err := MarshalSessionPolicy(doc)
	if err != nil {
		return Credentials{}, err
	}
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(roleARN),
		RoleSessionName: aws.String(SessionName(req.Caller)),
		DurationSeconds: aws.Int32(int32(d / time.Second)),
		Policy:          aws.String(policy),
	}
	if t.Auth.Type == AuthAWSRole {
		in.ExternalId = aws.String(t.Auth.ExternalID)
	}
	return v.assume(ctx, client, in, t.Auth, out, time.Now().Add(d+expirySlack))
}

// expirySlack is how far past the requested lifetime a store's expiry may lie (clock skew,
// rounding) before the credentials are refused as longer-lived than asked.
const expirySlack = 5 * time.Minute

// hmacRoleARN is sent to stores whose AssumeRole acts for the calling user and ignores
// the role (MinIO); the SDK insists on one.
const hmacRoleARN = "arn:aws:iam::000000000000:role/gatehouse-session"

// stsFor picks the STS that can scope credentials for t, or says why none can.
func (v *Vendor) stsFor(t Target) (AssumeRoler, string, error) {
	p := t.Location.Platform
	switch t.Auth.Type {
	case AuthAWSRole:
		if p != PlatformS3 {
			return nil, "", notScopable("aws_role is an AWS IAM role; platform %s has no AWS STS to assume it", p)
		}
		if v.awsSTS == nil {
			return nil, "", notScopable("this Gatehouse has no AWS STS client configured, so it cannot assume aws_role roles")
		}
		return v.awsSTS, t.Auth.RoleARN, nil
	case AuthHMAC:
		switch p {
		case PlatformMinIO, PlatformS3Compatible:
		case PlatformS3:
			return nil, "", notScopable("AWS STS cannot scope hmac keys without a role: use an aws_role config")
		default:
			return nil, "", notScopable("platform %s has no STS AssumeRole to scope hmac keys; only self_managed is possible", p)
		}
		if t.EndpointURL == "" {
			return nil, "", apperr.InvalidField("extra_config.endpoint_url", "hmac on %s needs the store's endpoint URL to reach its STS", p)
		}
		return v.hmacSTS(t.EndpointURL, t.Region, t.Auth.AccessKeyID, t.Auth.SecretAccessKey), hmacRoleARN, nil
	}
	return nil, "", notScopable("auth type %s gives no credentials", t.Auth.Type)
}

// assume calls STS and checks that what came back is temporary: never the stored keys,
// and expiring no later than latest.
func (v *Vendor) assume(ctx context.Context, c AssumeRoler, in *sts.AssumeRoleInput, a Auth, out Credentials, latest time.Time) (Credentials, error) {
	res, err := c.AssumeRole(ctx, in)
	if err != nil {
		return Credentials{}, stsError(err)
	}
	cr := res.Credentials
	if cr == nil || aws.ToString(cr.AccessKeyId) == "" || aws.ToString(cr.SecretAccessKey) == "" ||
		aws.ToString(cr.SessionToken) == "" || cr.Expiration == nil {
		return Credentials{}, notScopable("the store's STS answered without temporary credentials")
	}
	if aws.ToString(cr.AccessKeyId) == a.AccessKeyID || aws.ToString(cr.SecretAccessKey) == a.SecretAccessKey {
		return Credentials{}, notScopable("the store's STS answered with the stored long-lived keys")
	}
	if cr.Expiration.After(latest) {
		return Credentials{}, notScopable("the store's STS issued credentials valid until %s, longer than asked (is its own session duration forced?)", cr.Expiration.UTC().Format(time.RFC3339))
	}
	out.AccessKeyID = aws.ToString(cr.AccessKeyId)
	out.SecretAccessKey = aws.ToString(cr.SecretAccessKey)
	out.SessionToken = aws.ToString(cr.SessionToken)
	out.Expiration = cr.Expiration.UTC()
	out.SessionName = aws.ToString(in.RoleSessionName)
	return out, nil
}

// notScopable refuses a vend that could only be answered with unscoped keys.
func notScopable(format string, args ...any) *apperr.Error {
	return apperr.New(apperr.Conflict, "credentials_not_scopable", "cannot vend scoped credentials: "+format, args...)
}

// stsError maps an STS failure: a refusal by the store (an API error code) is a conflict
// with the bucket config, naming only the code; anything else means STS is unreachable.
// The remote message stays in the cause, for logs.
func stsError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotImplemented", "InvalidAction", "UnknownOperation", "NotSupported":
			return notScopable("the store has no STS AssumeRole (%s)", ae.ErrorCode()).WithCause(err)
		}
		return apperr.New(apperr.Conflict, "sts_refused", "the store's STS refused AssumeRole (%q): check the bucket config's keys, role and external ID", clip(ae.ErrorCode())).WithCause(err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return apperr.New(apperr.Unavailable, "sts_unavailable", "the store's STS did not answer in time").WithCause(err)
	}
	return apperr.New(apperr.Unavailable, "sts_unavailable", "the store's STS cannot be reached").WithCause(err)
}
