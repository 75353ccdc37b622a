package credentials

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

// requireField asserts err is an Invalid apperr naming field.
func requireField(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	var ae *apperr.Error
	require.True(t, errors.As(err, &ae), "not an apperr: %v", err)
	require.Equal(t, apperr.Invalid, ae.Kind, "kind of %v", err)
	require.Equal(t, field, ae.Field, "field of %v", err)
}

// B1: the URI form platform://name[/prefix].
func TestParseURI_B1(t *testing.T) {
	ok := []struct {
		uri  string
		want Location
	}{
		{"s3://my-bucket", Location{PlatformS3, "my-bucket", ""}},
		{"s3://my-bucket/", Location{PlatformS3, "my-bucket", ""}},
		{"s3://my-bucket/data", Location{PlatformS3, "my-bucket", "data/"}},
		{"s3://my-bucket/data/", Location{PlatformS3, "my-bucket", "data/"}},
		{"s3-compatible://b.example.com/a/b=2024/C_d-e.f", Location{PlatformS3Compatible, "b.example.com", "a/b=2024/C_d-e.f/"}},
		{"gs://my_bucket/x", Location{PlatformGS, "my_bucket", "x/"}},
		{"minio://abc/repo1", Location{PlatformMinIO, "abc", "repo1/"}},
	}
	for _, c := range ok {
		got, err := ParseURI(c.uri)
		require.NoError(t, err, c.uri)
		require.Equal(t, c.want, got, c.uri)
		back, err := ParseURI(got.URI())
		require.NoError(t, err)
		require.Equal(t, got, back, "round trip of %s", c.uri)
	}
}

// B1 and issue 9 "Bad input": unknown schemes, empty names, policy metacharacters and
// path tricks are refused, each naming the field "uri".
func TestParseURIRefuses_B1(t *testing.T) {
	bad := []string{
		"", "s3:/b", "b/prefix", "ftp://bucket", "S3://bucket", "file:///etc/passwd",
		"s3://", "s3:///prefix", "s3://ab", "s3://" + strings.Repeat("a", 64),
		"s3://Bucket", "s3://my_bucket", "s3://-bucket", "s3://bucket-", "s3://a..b", "s3://a.-b",
		"s3://192.168.1.10", "s3://xn--bucket", "s3://bucket-s3alias", "s3://bucket--ol-s3",
		"gs://google-data", "gs://goog-x",
		"s3://bucket//x", "s3://bucket/a//b", "s3://bucket/../x", "s3://bucket/a/./b", "s3://bucket/a/..",
		"s3://bucket/*", "s3://bucket/repo*", "s3://bucket/re?o", "s3://bucket/${aws:username}",
		"s3://bucket/a{b}", "s3://bucket/a\x00b", "s3://bucket/a\nb", "s3://bucket/a b",
		"s3://bucket/a\"b", `s3://bucket/a\b`, "s3://bucket/a%2fb", "s3://bucket/a?x=1", "s3://bucket/a#f",
		"s3://bucket/é", "s3://bucket/" + strings.Repeat("a", MaxPrefixLen+1),
		"s3://bu*ket/x", "s3://bucket:80/x", "s3://user@bucket/x",
	}
	for _, uri := range bad {
		_, err := ParseURI(uri)
		requireField(t, err, "uri")
	}
}

func TestNewLocationFields_B1(t *testing.T) {
	_, err := NewLocation("azure", "bucket", "")
	requireField(t, err, "platform")
	_, err = NewLocation("s3", "B", "")
	requireField(t, err, "bucket")
	_, err = NewLocation("s3", "bucket", "a*")
	requireField(t, err, "prefix")
	l, err := NewLocation("minio", "bucket", "/a/b/")
	require.NoError(t, err)
	require.Equal(t, "a/b/", l.Prefix)
}

// B6: a prefix always ends in "/", so repo1 never matches repo10.
func TestNormalizePrefixAlwaysEndsInSlash_B6(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "a": "a/", "a/": "a/", "/a": "a/", "a/b": "a/b/", "repo1": "repo1/"} {
		got, err := NormalizePrefix(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := NormalizePrefix("//")
	requireField(t, err, "prefix")
}

// B1: no two bucket configs may point to the same or an overlapping location.
func TestOverlaps_B1(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"s3://bkt/a", "s3://bkt/a/x", true},
		{"s3://bkt/a", "s3://bkt/a", true},
		{"s3://bkt/a", "s3://bkt/ab", false},
		{"s3://bkt/repo1", "s3://bkt/repo10", false},
		{"s3://bkt", "s3://bkt/anything", true},
		{"s3://bkt", "s3://bkt", true},
		{"s3://bkt/a", "s3://cbk/a", false},
		{"s3://bkt/a/x", "s3://bkt/a/y", false},
		{"s3://bkt/a", "minio://bkt/a/x", true}, // platforms are not compared, on purpose
	}
	for _, c := range cases {
		la, err := ParseURI(c.a)
		require.NoError(t, err)
		lb, err := ParseURI(c.b)
		require.NoError(t, err)
		require.Equal(t, c.want, la.Overlaps(lb), "%s vs %s", c.a, c.b)
		require.Equal(t, c.want, lb.Overlaps(la), "%s vs %s (swapped)", c.b, c.a)
	}
}

func TestChild_B6(t *testing.T) {
	root, err := ParseURI("s3://bucket/base")
	require.NoError(t, err)
	c, err := root.Child("repo1")
	require.NoError(t, err)
	require.Equal(t, "base/repo1/", c.Prefix)
	require.True(t, root.Contains(c))
	c10, err := root.Child("repo10")
	require.NoError(t, err)
	require.False(t, c.Overlaps(c10))
	require.False(t, c.Contains(c10))
	for _, bad := range []string{"", "/", "..", "a/../b", "*", "a*", "$x"} {
		_, err := root.Child(bad)
		requireField(t, err, "prefix")
	}
	long := strings.Repeat("x", MaxPrefixLen-len("base/"))
	_, err = root.Child(long)
	require.NoError(t, err, "exactly MaxPrefixLen")
	_, err = root.Child(long + "x")
	requireField(t, err, "prefix")
}

// Fuzz target for the URI parser: never panics; what it accepts round-trips and carries
// no policy metacharacter; a prefix is empty or ends in "/".
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"s3://bucket/a/b", "gs://my_bucket", "minio://b/../x", "s3://b/*", "s3://b//", "s3://b/${x}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		l, err := ParseURI(uri)
		if err != nil {
			requireField(t, err, "uri")
			return
		}
		checkLocationInvariants(t, l)
		back, err := ParseURI(l.URI())
		require.NoError(t, err)
		require.Equal(t, l, back)
	})
}

// Fuzz target for the prefix parser.
func FuzzNormalizePrefix(f *testing.F) {
	for _, s := range []string{"a", "/a/b/", "a//b", "..", "a/./b", "*", "a\x00", "repo1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prefix string) {
		p, err := NormalizePrefix(prefix)
		if err != nil {
			requireField(t, err, "prefix")
			return
		}
		checkLocationInvariants(t, Location{PlatformS3, "bucket", p})
		again, err := NormalizePrefix(p)
		require.NoError(t, err)
		require.Equal(t, p, again, "normalization is idempotent")
	})
}

func checkLocationInvariants(t *testing.T, l Location) {
	t.Helper()
	require.True(t, l.Prefix == "" || strings.HasSuffix(l.Prefix, "/"), "prefix %q", l.Prefix)
	require.False(t, strings.HasPrefix(l.Prefix, "/"), "prefix %q", l.Prefix)
	require.False(t, strings.Contains(l.Prefix, "//"), "prefix %q", l.Prefix)
	require.False(t, strings.ContainsAny(l.Prefix+l.Bucket, "*?${}\"\\ \t\r\n\x00"), "location %v", l)
	for _, seg := range strings.Split(strings.TrimSuffix(l.Prefix, "/"), "/") {
		require.NotEqual(t, "..", seg)
		require.NotEqual(t, ".", seg)
	}
	if l.Prefix != "" {
		for _, a := range []Access{AccessRead, AccessWrite} {
			doc, err := SessionPolicy(l, a)
			require.NoError(t, err)
			_, err = MarshalSessionPolicy(doc)
			require.NoError(t, err)
		}
	}
}
