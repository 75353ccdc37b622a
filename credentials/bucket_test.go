package credentials

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// B1 and issue 9 "Bad input": a bucket config's location, extra config and auth are
// validated before anything is stored, each error naming its field.
func TestValidateBucket_B1(t *testing.T) {
	hmac := Auth{Type: AuthHMAC, AccessKeyID: "minioadmin", SecretAccessKey: "minio-secret-123"}
	role := Auth{Type: AuthAWSRole, RoleARN: testRoleARN, ExternalID: testExternalID}
	loc, err := ValidateBucket(BucketInput{URI: "minio://data/gh", EndpointURL: "http://127.0.0.1:9000", Auth: hmac})
	require.NoError(t, err)
	require.Equal(t, Location{PlatformMinIO, "data", "gh/"}, loc)
	_, err = ValidateBucket(BucketInput{URI: "s3://acme-data", Platform: "s3", Region: "eu-west-1", Auth: role})
	require.NoError(t, err)
	_, err = ValidateBucket(BucketInput{URI: "gs://acme_data/x", Auth: Auth{Type: AuthSelfManaged}})
	require.NoError(t, err)

	bad := []struct {
		in    BucketInput
		field string
	}{
		{BucketInput{URI: "azure://acme/x", Auth: Auth{Type: AuthSelfManaged}}, "uri"},
		{BucketInput{URI: "s3://acme-data/a*", Auth: Auth{Type: AuthSelfManaged}}, "uri"},
		{BucketInput{URI: "s3://acme-data", Platform: "minio", Auth: Auth{Type: AuthSelfManaged}}, "platform"},
		{BucketInput{URI: "s3://acme-data", Platform: "ftp", Auth: Auth{Type: AuthSelfManaged}}, "platform"},
		{BucketInput{URI: "minio://acme-data", EndpointURL: "127.0.0.1:9000", Auth: hmac}, "extra_config.endpoint_url"},
		{BucketInput{URI: "minio://acme-data", EndpointURL: "http://u:p@host", Auth: hmac}, "extra_config.endpoint_url"},
		{BucketInput{URI: "minio://acme-data", EndpointURL: "http://host/?x=1", Auth: hmac}, "extra_config.endpoint_url"},
		{BucketInput{URI: "minio://acme-data", Auth: hmac}, "extra_config.endpoint_url"},
		{BucketInput{URI: "s3://acme-data", Region: "EU West", Auth: role}, "extra_config.region"},
		{BucketInput{URI: "minio://acme-data", EndpointURL: "http://h", Auth: role}, "auth.type"},
		{BucketInput{URI: "s3://acme-data", Auth: Auth{Type: "root"}}, "auth.type"},
		{BucketInput{URI: "s3://acme-data", Auth: Auth{Type: AuthAWSRole, RoleARN: "arn:aws:iam::1:role/x", ExternalID: testExternalID}}, "auth.role_arn"},
		{BucketInput{URI: "s3://acme-data", Auth: Auth{Type: AuthAWSRole, RoleARN: testRoleARN, ExternalID: "x"}}, "auth.external_id"},
		{BucketInput{URI: "minio://acme-data", EndpointURL: "http://h", Auth: Auth{Type: AuthHMAC, AccessKeyID: "a b", SecretAccessKey: "12345678"}}, "auth.access_key_id"},
		{BucketInput{URI: "minio://acme-data", EndpointURL: "http://h", Auth: Auth{Type: AuthHMAC, AccessKeyID: "abc", SecretAccessKey: "short"}}, "auth.secret_access_key"},
		{BucketInput{URI: "s3://acme-data", Auth: Auth{Type: AuthSelfManaged, AccessKeyID: "abc"}}, "auth"},
	}
	for _, c := range bad {
		_, err := ValidateBucket(c.in)
		requireField(t, err, c.field)
	}
}
