package credentials

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

// Platform is the kind of object store a bucket config points at (B1).
type Platform string

// The platforms of B1.
const (
	PlatformS3           Platform = "s3"
	PlatformS3Compatible Platform = "s3-compatible"
	PlatformGS           Platform = "gs"
	PlatformMinIO        Platform = "minio"
)

// The request fields that errors about a location name (API.md's bucket config body).
const (
	fieldPlatform = "platform"
	fieldBucket   = "bucket"
)

// Platforms lists the known platforms, in the order the API documents them.
func Platforms() []Platform {
	return []Platform{PlatformS3, PlatformS3Compatible, PlatformGS, PlatformMinIO}
}

// ParsePlatform checks a platform name; the error names the field "platform".
func ParsePlatform(s string) (Platform, error) {
	for _, p := range Platforms() {
		if s == string(p) {
			return p, nil
		}
	}
	return "", apperr.InvalidField(fieldPlatform, "unknown platform %q: use one of s3, s3-compatible, gs, minio", clip(s))
}

// MaxPrefixLen is the longest prefix (without its final "/") a location may have. It keeps
// the write session policy of the longest bucket name (63) and prefix within STS's
// 2,048-character limit on inline policies (see TestSessionPolicyLongestNames).
const MaxPrefixLen = 512

// Location is a validated place in an object store: a bucket and a prefix inside it.
// Prefix is "" for the whole bucket, or normalized segments that always end in "/", so
// that "repo1/" never matches "repo10/". Only ParseURI, NewLocation and Child make one;
// a Location built by hand is not validated.
type Location struct {
	Platform Platform
	Bucket   string
	Prefix   string
}

// ParseURI parses the URI form platform://bucket[/prefix] (B1). Every error names the
// field "uri" and says which part is wrong.
func ParseURI(uri string) (Location, error) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return Location{}, apperr.InvalidField("uri", "%q is not of the form platform://bucket[/prefix]", clip(uri))
	}
	p, err := ParsePlatform(scheme)
	if err != nil {
		return Location{}, apperr.InvalidField("uri", "unknown platform %q: use one of s3, s3-compatible, gs, minio", clip(scheme))
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if err := checkBucket(p, bucket); err != nil {
		return Location{}, apperr.InvalidField("uri", "bucket name %q: %v", clip(bucket), err)
	}
	if strings.HasPrefix(prefix, "/") {
		return Location{}, apperr.InvalidField("uri", "prefix %q: empty path segment (\"//\")", clip(prefix))
	}
	np, err := normalizePrefix(prefix)
	if err != nil {
		return Location{}, apperr.InvalidField("uri", "prefix %q: %v", clip(prefix), err)
	}
	return Location{Platform: p, Bucket: bucket, Prefix: np}, nil
}

// NewLocation validates the three parts given as separate fields; errors name the field
// ("platform", "bucket" or "prefix").
func NewLocation(platform, bucket, prefix string) (Location, error) {
	p, err := ParsePlatform(platform)
	if err != nil {
		return Location{}, err
	}
	if err := checkBucket(p, bucket); err != nil {
		return Location{}, apperr.InvalidField(fieldBucket, "bucket name %q: %v", clip(bucket), err)
	}
	np, err := normalizePrefix(prefix)
	if err != nil {
		return Location{}, apperr.InvalidField("prefix", "prefix %q: %v", clip(prefix), err)
	}
	return Location{Platform: p, Bucket: bucket, Prefix: np}, nil
}

// NormalizePrefix validates a prefix and returns its normal form: "" for none, else its
// segments joined by "/" with one final "/" ("a/b" and "/a/b/" give "a/b/"). The error
// names the field "prefix".
func NormalizePrefix(prefix string) (string, error) {
	np, err := normalizePrefix(prefix)
	if err != nil {
		return "", apperr.InvalidField("prefix", "prefix %q: %v", clip(prefix), err)
	}
	return np, nil
}

// Child returns the location of sub (one or more prefix segments) inside l: a repo's
// place inside its bucket config. The error names the field "prefix".
func (l Location) Child(sub string) (Location, error) {
	ns, err := normalizePrefix(sub)
	if err != nil {
		return Location{}, apperr.InvalidField("prefix", "prefix %q: %v", clip(sub), err)
	}
	if ns == "" {
		return Location{}, apperr.InvalidField("prefix", "a child location needs a non-empty prefix")
	}
	full := l.Prefix + ns
	if len(full)-1 > MaxPrefixLen {
		return Location{}, apperr.InvalidField("prefix", "the full prefix is %d characters long; at most %d are allowed", len(full)-1, MaxPrefixLen)
	}
	return Location{Platform: l.Platform, Bucket: l.Bucket, Prefix: full}, nil
}

// URI returns the URI form of l (platform://bucket/prefix/), which ParseURI reads back.
func (l Location) URI() string {
	return string(l.Platform) + "://" + l.Bucket + "/" + l.Prefix
}

func (l Location) String() string { return l.URI() }

// Overlaps reports whether l and o share any object key: same bucket name, and one prefix
// is a prefix of the other at a segment boundary ("a/" and "a/x/" overlap, "a/" and
// "ab/" do not; the whole bucket overlaps everything in it). The platform is deliberately
// not compared: s3, s3-compatible and minio may name the same store through different
// endpoints, and refusing a look-alike is safer than letting two configs share objects.
func (l Location) Overlaps(o Location) bool {
	if l.Bucket != o.Bucket {
		return false
	}
	return strings.HasPrefix(l.Prefix, o.Prefix) || strings.HasPrefix(o.Prefix, l.Prefix)
}

// Contains reports whether o lies within l (the same place or below it), the same
// bucket and the prefix of l a segment-boundary prefix of o's.
func (l Location) Contains(o Location) bool {
	return l.Bucket == o.Bucket && strings.HasPrefix(o.Prefix, l.Prefix)
}

// checkBucket applies the bucket naming rules of the platform.
func checkBucket(p Platform, name string) error {
	if name == "" {
		return fmt.Errorf("empty")
	}
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("must be 3 to 63 characters long, not %d", len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || (p == PlatformGS && c == '_')
		if !ok {
			allowed := "lowercase letters, digits, '.' and '-'"
			if p == PlatformGS {
				allowed = "lowercase letters, digits, '.', '-' and '_'"
			}
			return fmt.Errorf("character %q at %d is not allowed: only %s", rune(c), i, allowed)
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return fmt.Errorf("must begin and end with a lowercase letter or a digit")
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return fmt.Errorf("must not contain \"..\", \".-\" or \"-.\"")
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return fmt.Errorf("must not be formatted as an IP address")
	}
	if p == PlatformGS {
		if strings.HasPrefix(name, "goog") || strings.Contains(name, "google") {
			return fmt.Errorf("must not begin with \"goog\" or contain \"google\"")
		}
		return nil
	}
	for _, pre := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, pre) {
			return fmt.Errorf("must not begin with %q (reserved by S3)", pre)
		}
	}
	for _, suf := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, suf) {
			return fmt.Errorf("must not end with %q (reserved by S3)", suf)
		}
	}
	return nil
}

// normalizePrefix validates prefix and returns "" or its segments joined with a final "/".
// One leading and one trailing "/" are accepted; anything else that could mean something
// to a policy, a path resolver or a terminal is refused.
func normalizePrefix(prefix string) (string, error) {
	p := strings.TrimPrefix(prefix, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		if prefix == "" || prefix == "/" {
			return "", nil
		}
		return "", fmt.Errorf("empty path segment")
	}
	if len(p) > MaxPrefixLen {
		return "", fmt.Errorf("%d characters long; at most %d are allowed", len(p), MaxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !isPrefixChar(c) {
			return "", fmt.Errorf("character %s at %d is not allowed: only letters, digits, '-', '_', '.', '=' and '/' between segments", describeByte(c), i)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return "", fmt.Errorf("empty path segment (\"//\")")
		case ".", "..":
			return "", fmt.Errorf("path segment %q is not allowed", seg)
		}
	}
	return p + "/", nil
}

func isPrefixChar(c byte) bool {
	return isAlnum(c) || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.' || c == '=' || c == '/'
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// describeByte names a refused byte without echoing control characters raw.
func describeByte(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("0x%02x", c)
	}
	return fmt.Sprintf("%q", rune(c))
}

// clip shortens s for an error message; %q then escapes whatever is left.
func clip(s string) string {
	const limit = 80
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
