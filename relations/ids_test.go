package relations

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEncodeDecodeID(t *testing.T) {
	cases := []struct {
		in, stored string
	}{
		{"alice@example.com", "alice_40example_2ecom"},
		{"acme/raw", "acme/raw"},
		{"snake_case", "snake_5fcase"},
		{"etl@acme", "etl_40acme"},
		{"A-Z/09", "A-Z/09"},
		{"a|b=c+d", "a_7cb_3dc_2bd"},
		{"é", "_c3_a9"},
		{"root", "root"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := EncodeID(c.in)
			require.NoError(t, err)
			require.Equal(t, c.stored, got)
			require.Regexp(t, storedIDRE, got)
			back, err := DecodeID(got)
			require.NoError(t, err)
			require.Equal(t, c.in, back)
		})
	}
}

func TestEncodeIDRejects(t *testing.T) {
	for _, in := range []string{"", "*", "a b", "tab\there", "nl\n", "\x00", "\xff", strings.Repeat("@", 342)} {
		_, err := EncodeID(in)
		require.ErrorIs(t, err, ErrInvalid, "input %q", in)
	}
	// 1024 bytes stored is the maximum.
	_, err := EncodeID(strings.Repeat("a", 1024))
	require.NoError(t, err)
	_, err = EncodeID(strings.Repeat("a", 1025))
	require.ErrorIs(t, err, ErrInvalid)
}

func TestDecodeIDRejects(t *testing.T) {
	for _, in := range []string{"", "a_", "a_4", "a_4G", "a_41", "a_2E", "a.b", "a@b", "_20"} {
		_, err := DecodeID(in)
		require.ErrorIs(t, err, ErrInvalid, "input %q", in)
	}
	got, err := DecodeID("*")
	require.NoError(t, err)
	require.Equal(t, "*", got)
}

func TestTypes(t *testing.T) {
	st, err := StoredType("sa")
	require.NoError(t, err)
	require.Equal(t, "serviceaccount", st)
	at, err := APIType("serviceaccount")
	require.NoError(t, err)
	require.Equal(t, "sa", at)
	for _, typ := range []string{"user", "robot", "pipeline", "team", "org", "repo", "bucket", "platform"} {
		st, err := StoredType(typ)
		require.NoError(t, err)
		require.Equal(t, typ, st)
	}
	_, err = StoredType("serviceaccount")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = StoredType("widget")
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "widget")
}

func TestParseRelationship(t *testing.T) {
	cases := []struct {
		in   string
		want Relationship
	}{
		{"repo:acme/x#reader@user:bob@example.com", Relationship{
			Resource: Object{"repo", "acme/x"}, Relation: "reader",
			Subject: Subject{Object: Object{"user", "bob@example.com"}},
		}},
		{"repo:acme/x#reader@team:acme/analysts#member", Relationship{
			Resource: Object{"repo", "acme/x"}, Relation: "reader",
			Subject: Subject{Object: Object{"team", "acme/analysts"}, Relation: "member"},
		}},
		{"org:acme#member@sa:etl@acme", Relationship{
			Resource: Object{"org", "acme"}, Relation: "member",
			Subject: Subject{Object: Object{"sa", "etl@acme"}},
		}},
		{"platform:root#unlocked@user:*", Relationship{
			Resource: Object{"platform", "root"}, Relation: "unlocked",
			Subject: Subject{Object: Object{"user", "*"}},
		}},
		{"repo:a:b#reader@user:x#y#member", Relationship{
			Resource: Object{"repo", "a:b"}, Relation: "reader",
			Subject: Subject{Object: Object{"user", "x#y"}, Relation: "member"},
		}},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseRelationship(c.in)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			require.Equal(t, c.in, got.String())
		})
	}
}

func TestParseRelationshipErrors(t *testing.T) {
	cases := []struct{ in, part string }{
		{"repo:acme/x", "#relation"},
		{"repo:acme/x#reader", "@subject"},
		{"repo#reader@user:bob", "resource"},
		{"widget:x#reader@user:bob", "resource"},
		{"repo:#reader@user:bob", "resource"},
		{"repo:*#reader@user:bob", "resource"},
		{"repo:acme/x#Reader@user:bob", "relation"},
		{"repo:acme/x#@user:bob", "relation"},
		{"repo:acme/x#reader@user", "subject"},
		{"repo:acme/x#reader@user:", "subject"},
		{"repo:acme/x#reader@user:bob#", "subject"},
		{"repo:acme/x#reader@user:b b", "subject"},
		{"repo:acme/x#reader@user:*#member", "subject"},
		{"repo:acme/x#reader@thing:bob", "subject"},
		{"Repo:acme/x#reader@user:bob", "resource"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			_, err := ParseRelationship(c.in)
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, c.part)
		})
	}
}

func TestParseObjectAndSubject(t *testing.T) {
	o, err := ParseObject("repo:acme/raw")
	require.NoError(t, err)
	require.Equal(t, Object{"repo", "acme/raw"}, o)
	require.Equal(t, "repo:acme/raw", o.String())

	_, err = ParseObject("user:*")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = ParseObject("repo")
	require.ErrorIs(t, err, ErrInvalid)

	s, err := ParseSubject("team:acme/analysts#member")
	require.NoError(t, err)
	require.Equal(t, Subject{Object: Object{"team", "acme/analysts"}, Relation: "member"}, s)
	require.Equal(t, "team:acme/analysts#member", s.String())

	s, err = ParseSubject("user:alice@example.com")
	require.NoError(t, err)
	require.Equal(t, Subject{Object: Object{"user", "alice@example.com"}}, s)
}

func FuzzIDRoundTrip(f *testing.F) {
	for _, s := range []string{"alice@example.com", "acme/raw", "_", "*", "", "a_40", "é", "\x00", strings.Repeat("x", 1100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc, err := EncodeID(s)
		if err != nil {
			return
		}
		if !storedIDRE.MatchString(enc) || len(enc) > maxStoredIDLen {
			t.Fatalf("EncodeID(%q) = %q: not a SpiceDB object id", s, enc)
		}
		dec, err := DecodeID(enc)
		if err != nil {
			t.Fatalf("DecodeID(EncodeID(%q)=%q): %v", s, enc, err)
		}
		if dec != s {
			t.Fatalf("round trip of %q gave %q", s, dec)
		}
	})
}

func FuzzParseRelationship(f *testing.F) {
	for _, s := range []string{
		"repo:acme/x#reader@user:bob@example.com",
		"repo:acme/x#reader@team:acme/a#member",
		"platform:root#unlocked@user:*",
		"org:acme#member@sa:etl@acme",
		"repo:a#b@c", "#@:", "a:b#c@d:e#f#g",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRelationship(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("ParseRelationship(%q).String() = %q", s, r.String())
		}
		r2, err := ParseRelationship(r.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", r.String(), err)
		}
		if r2 != r {
			t.Fatalf("re-parse of %q gave %+v, want %+v", s, r2, r)
		}
		if _, err := relationshipProto(r); err != nil {
			t.Fatalf("parsed %q but cannot store it: %v", s, err)
		}
	})
}
