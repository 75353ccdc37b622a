package credentials

import (
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

// BucketInput is the location part of a bucket config as the API receives it (B1): the
// URI form, an optional platform that must agree with the URI's scheme, the extra config
// and the auth, secrets in clear.
type BucketInput struct {
	URI         string
	Platform    string // optional: the URI's scheme decides; a different one is refused
	EndpointURL string
	Region      string
	Auth        Auth
}

// ValidateBucket checks a bucket config before it is stored, so that nothing unvalidated
// can later reach a policy, and returns its location. Each error names its field (uri,
// platform, extra_config.endpoint_url, extra_config.region, auth.*). Overlap with other
// configs is the caller's check (Location.Overlaps), against every config of the platform.
func ValidateBucket(in BucketInput) (Location, error) {
	loc, err := ParseURI(in.URI)
	if err != nil {
		return Location{}, err
	}
	if in.Platform != "" {
		p, err := ParsePlatform(in.Platform)
		if err != nil {
			return Location{}, err
		}
		if p != loc.Platform {
			return Location{}, apperr.InvalidField(fieldPlatform, "platform %q disagrees with the URI's %q", p, loc.Platform)
		}
	}
	if err := ValidateEndpoint(in.EndpointURL); err != nil {
		return Location{}, err
	}
	if err := ValidateRegion(in.Region); err != nil {
		return Location{}, err
	}
	if err := in.Auth.Validate(); err != nil {
		return Location{}, err
	}
	switch {
	case in.Auth.Type == AuthAWSRole && loc.Platform != PlatformS3:
		return Location{}, apperr.InvalidField("auth.type", "aws_role is an AWS IAM role: it needs platform s3, not %s", loc.Platform)
	case in.Auth.Type == AuthHMAC && in.EndpointURL == "" && (loc.Platform == PlatformMinIO || loc.Platform == PlatformS3Compatible):
		return Location{}, apperr.InvalidField("extra_config.endpoint_url", "hmac on %s needs the store's endpoint URL", loc.Platform)
	}
	return loc, nil
}
