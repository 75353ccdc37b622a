package credentials

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func mustParse(t *testing.T, uri string) Location {
	t.Helper()
	l, err := ParseURI(uri)
	require.NoError(t, err)
	return l
}

// B6: read gets objects and versions on the prefix and lists it under an s3:prefix
// condition; write adds put, delete and the multipart housekeeping. Nothing else.
func TestSessionPolicyActions_B6(t *testing.T) {
	l := mustParse(t, "s3://data-bucket/org/repo1")
	read, err := SessionPolicy(l, AccessRead)
	require.NoError(t, err)
	js, err := MarshalSessionPolicy(read)
	require.NoError(t, err)
	require.JSONEq(t, `{"Version":"2012-10-17","Statement":[
		{"Sid":"Objects","Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],
		 "Resource":["arn:aws:s3:::data-bucket/org/repo1/*"]},
		{"Sid":"List","Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::data-bucket"],
		 "Condition":{"StringLike":{"s3:prefix":["org/repo1/*"]}}}]}`, js)

	write, err := SessionPolicy(l, AccessWrite)
	require.NoError(t, err)
	require.Equal(t, []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject",
		"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}, write.Statement[0].Action)
	require.Equal(t, read.Statement[1], write.Statement[1])

	_, err = SessionPolicy(l, Access("admin"))
	requireField(t, err, "access")
	_, err = SessionPolicy(mustParse(t, "s3://data-bucket"), AccessRead)
	requireField(t, err, "prefix")
}

// B6: the policy stays within STS's 2,048-character limit at the longest bucket name (63)
// and the longest prefix allowed (MaxPrefixLen), for both accesses.
func TestSessionPolicyLongestNames_B6(t *testing.T) {
	bucket := strings.Repeat("b", 63)
	seg := strings.Repeat("p", 63) + "/"
	prefix := strings.Repeat(seg, MaxPrefixLen/len(seg)) + strings.Repeat("q", MaxPrefixLen%len(seg))
	require.Len(t, prefix, MaxPrefixLen)
	l, err := NewLocation("s3", bucket, prefix)
	require.NoError(t, err)
	doc, err := SessionPolicy(l, AccessWrite)
	require.NoError(t, err)
	js, err := MarshalSessionPolicy(doc)
	require.NoError(t, err)
	require.LessOrEqual(t, len(js), MaxSessionPolicyLen)
	t.Logf("write session policy at the longest names: %d characters (STS limit %d)", len(js), MaxSessionPolicyLen)

	// One character more is refused by the parser; a policy that outgrows the limit
	// anyway is refused before STS sees it.
	_, err = NewLocation("s3", bucket, prefix+"q")
	requireField(t, err, "prefix")
	big := doc
	big.Statement = append(big.Statement, doc.Statement...)
	_, err = MarshalSessionPolicy(big)
	requireField(t, err, "prefix")
}

// Issue 9 "Bad input" (Polaris 2026): a metacharacter or a crafted name never widens or
// injects into the session policy, even in a Location built by hand around validation.
func TestSessionPolicyRefusesCraftedNames_B6(t *testing.T) {
	crafted := []Location{
		{PlatformS3, "bucket", "*"},
		{PlatformS3, "bucket", "repo*/"},
		{PlatformS3, "bucket", "repo1"}, // not normalized: would match repo10
		{PlatformS3, "bucket", "a/../b/"},
		{PlatformS3, "bucket", `x"],"Resource":["*"],"y":["/`},
		{PlatformS3, "bucket", "${aws:username}/"},
		{PlatformS3, "bucket/*", "a/"},
		{PlatformS3, "bu*et", "a/"},
		{Platform("ftp"), "bucket", "a/"},
	}
	for _, l := range crafted {
		_, err := SessionPolicy(l, AccessRead)
		require.Error(t, err, "%#v", l)
		_, err = PermissionPolicy(l)
		require.Error(t, err, "%#v", l)
	}
}

// Each ARN is a single JSON string: the only resources in the marshalled document are the
// two the location gives.
func TestSessionPolicyIsData_B6(t *testing.T) {
	l := mustParse(t, "minio://bkt/a=1/b-2/c_3.d")
	doc, err := SessionPolicy(l, AccessWrite)
	require.NoError(t, err)
	js, err := MarshalSessionPolicy(doc)
	require.NoError(t, err)
	var back PolicyDocument
	require.NoError(t, json.Unmarshal([]byte(js), &back))
	require.Equal(t, doc, back)
	require.Equal(t, []string{"arn:aws:s3:::bkt/a=1/b-2/c_3.d/*"}, back.Statement[0].Resource)
	require.Equal(t, []string{"arn:aws:s3:::bkt"}, back.Statement[1].Resource)
}

// B7: the permission policy names the actions and the bucket ARN; the trust policy names
// Gatehouse's principal and the external ID.
func TestIAMPolicies_B7(t *testing.T) {
	l := mustParse(t, "s3://acme-data/gatehouse")
	perm, trust, err := IAMPolicies(l, "arn:aws:iam::123456789012:role/gatehouse", "ext-id-0123456789")
	require.NoError(t, err)
	require.JSONEq(t, `{"Version":"2012-10-17","Statement":[
		{"Sid":"GatehouseObjects","Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion","s3:PutObject",
		 "s3:DeleteObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],
		 "Resource":["arn:aws:s3:::acme-data/gatehouse/*"]},
		{"Sid":"List","Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::acme-data"],
		 "Condition":{"StringLike":{"s3:prefix":["gatehouse/*"]}}}]}`, perm.String())
	require.JSONEq(t, `{"Version":"2012-10-17","Statement":[
		{"Sid":"GatehouseAssumeRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/gatehouse"},
		 "Action":["sts:AssumeRole"],"Condition":{"StringEquals":{"sts:ExternalId":["ext-id-0123456789"]}}}]}`, trust.String())

	whole, err := PermissionPolicy(mustParse(t, "s3://acme-data"))
	require.NoError(t, err)
	require.Equal(t, []string{"arn:aws:s3:::acme-data/*"}, whole.Statement[0].Resource)
	require.Nil(t, whole.Statement[1].Condition)

	_, _, err = IAMPolicies(l, "not-an-arn", "ext-id-0123456789")
	requireField(t, err, "principal_arn")
	_, _, err = IAMPolicies(l, "arn:aws:iam::123456789012:root", `x"}`)
	requireField(t, err, "auth.external_id")
}

// BenchmarkSessionPolicy is the policy part of a vend: build and marshal.
func BenchmarkSessionPolicy(b *testing.B) {
	l, err := ParseURI("s3://acme-data/org/repo1")
	require.NoError(b, err)
	for b.Loop() {
		doc, err := SessionPolicy(l, AccessWrite)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := MarshalSessionPolicy(doc); err != nil {
			b.Fatal(err)
		}
	}
}
