package ststest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

// The HTTP double speaks STS's protocol well enough for the SDK's own client: inputs are
// recorded as sent, answers decoded, errors carry their code.
func TestRecorderOverHTTP(t *testing.T) {
	rec := New()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDCALLER", SecretAccessKey: "s"}, nil
		})})
	in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("gh.user_a"),
		DurationSeconds: aws.Int32(900), ExternalId: aws.String("ext"), Policy: aws.String(`{"Version":"2012-10-17"}`)}
	out, err := c.AssumeRole(context.Background(), in)
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(out.Credentials.SessionToken))
	require.WithinDuration(t, time.Now().Add(15*time.Minute), *out.Credentials.Expiration, 5*time.Second)
	got, ok := rec.Last()
	require.True(t, ok)
	require.Equal(t, *in.RoleArn, aws.ToString(got.RoleArn))
	require.Equal(t, *in.ExternalId, aws.ToString(got.ExternalId))
	require.Equal(t, *in.Policy, aws.ToString(got.Policy))
	require.Equal(t, int32(900), aws.ToInt32(got.DurationSeconds))
	require.Equal(t, []string{"AKIDCALLER"}, rec.Signers())

	rec.FailWith(&smithy.GenericAPIError{Code: "AccessDenied", Message: "no"})
	_, err = c.AssumeRole(context.Background(), in)
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "AccessDenied", ae.ErrorCode())
}
