package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/internal/ststest"
)

const (
	testRoleARN    = "arn:aws:iam::123456789012:role/acme-gatehouse"
	testExternalID = "acme-external-id-7f3a"
)

func roleTarget(t *testing.T) Target {
	return Target{
		Location: mustParse(t, "s3://acme-data/org/repo1"),
		Auth:     Auth{Type: AuthAWSRole, RoleARN: testRoleARN, ExternalID: testExternalID},
		Region:   "eu-west-1",
	}
}

func newVendor(t *testing.T, opts ...Option) *Vendor {
	t.Helper()
	v, err := NewVendor(DefaultConfig(), opts...)
	require.NoError(t, err)
	return v
}

func requireKind(t *testing.T, err error, kind apperr.Kind, code string) {
	t.Helper()
	var ae *apperr.Error
	require.True(t, errors.As(err, &ae), "not an apperr: %v", err)
	require.Equal(t, kind, ae.Kind, "%v", err)
	require.Equal(t, code, ae.Code, "%v", err)
}

// B6: aws_role assumes the role with its external ID, the requested duration, a session
// name that carries the caller, and the session policy of the location and access.
func TestVendAWSRoleRecordsTheCall_B6(t *testing.T) {
	rec := ststest.New()
	v := newVendor(t, WithAWSSTS(rec))
	before := time.Now()
	creds, err := v.Vend(context.Background(), Request{
		Target: roleTarget(t), Access: AccessWrite, Duration: 2 * time.Hour, Caller: "user:alice@example.com",
	})
	require.NoError(t, err)
	in, ok := rec.Last()
	require.True(t, ok)
	require.Equal(t, testRoleARN, aws.ToString(in.RoleArn))
	require.Equal(t, testExternalID, aws.ToString(in.ExternalId))
	require.Equal(t, int32(7200), aws.ToInt32(in.DurationSeconds))
	require.Regexp(t, `^gh\.user_alice@example\.com-[0-9a-f]{12}$`, aws.ToString(in.RoleSessionName))
	want, err := SessionPolicy(roleTarget(t).Location, AccessWrite)
	require.NoError(t, err)
	var got PolicyDocument
	require.NoError(t, json.Unmarshal([]byte(aws.ToString(in.Policy)), &got))
	require.Equal(t, want, got)

	require.True(t, creds.HasKeys())
	require.NotEmpty(t, creds.SessionToken)
	require.WithinDuration(t, before.Add(2*time.Hour), creds.Expiration, time.Minute)
	require.Equal(t, "acme-data", creds.Bucket)
	require.Equal(t, "org/repo1/", creds.Prefix)
	require.Equal(t, AccessWrite, creds.Access)
	require.Equal(t, "eu-west-1", creds.Region)

	// Asking for less than one could get (read while holding write) gives the read policy.
	_, err = v.Vend(context.Background(), Request{Target: roleTarget(t), Access: AccessRead, Caller: "user:alice@example.com"})
	require.NoError(t, err)
	in, _ = rec.Last()
	require.Equal(t, int32(3600), aws.ToInt32(in.DurationSeconds), "default 1h")
	require.NotContains(t, aws.ToString(in.Policy), "s3:PutObject")
}

// B6: durations within 15m..12h (configurable), unknown access, and bad input are refused
// before STS is called, each naming its field.
func TestVendRefusesBadRequests_B6(t *testing.T) {
	rec := ststest.New()
	v := newVendor(t, WithAWSSTS(rec))
	ctx := context.Background()
	base := Request{Target: roleTarget(t), Access: AccessRead, Caller: "user:bob"}

	for _, d := range []time.Duration{time.Minute, 15*time.Minute - time.Second, 12*time.Hour + time.Second, -time.Hour, 20*time.Minute + time.Millisecond} {
		r := base
		r.Duration = d
		_, err := v.Vend(ctx, r)
		requireField(t, err, "duration")
	}
	r := base
	r.Access = "admin"
	_, err := v.Vend(ctx, r)
	requireField(t, err, "access")

	r = base
	r.Target.Location = Location{PlatformS3, "acme-data", "repo*/"} // built by hand around the parser
	_, err = v.Vend(ctx, r)
	requireField(t, err, "prefix")

	r = base
	r.Target.Auth.ExternalID = ""
	_, err = v.Vend(ctx, r)
	requireField(t, err, "auth.external_id")

	r = base
	r.Target.EndpointURL = "ftp://x"
	_, err = v.Vend(ctx, r)
	requireField(t, err, "extra_config.endpoint_url")
	require.Empty(t, rec.Calls(), "nothing reached STS")

	_, err = NewVendor(Config{DefaultDuration: time.Hour, MinDuration: time.Minute, MaxDuration: time.Hour})
	require.Error(t, err)
	_, err = NewVendor(Config{DefaultDuration: 13 * time.Hour, MinDuration: MinDuration, MaxDuration: MaxDuration})
	require.Error(t, err)
}

// B6: what cannot be scoped is refused with the reason, never answered with keys;
// self_managed returns only the location.
func TestVendCannotScope_B6(t *testing.T) {
	ctx := context.Background()
	v := newVendor(t) // no AWS STS configured
	_, err := v.Vend(ctx, Request{Target: roleTarget(t), Access: AccessRead, Caller: "user:bob"})
	requireKind(t, err, apperr.Conflict, "credentials_not_scopable")

	hmac := Auth{Type: AuthHMAC, AccessKeyID: "AKIDLONGLIVED", SecretAccessKey: "long-lived-secret"}
	for _, uri := range []string{"s3://acme-data/r", "gs://acme-data/r"} {
		_, err = v.Vend(ctx, Request{Target: Target{Location: mustParse(t, uri), Auth: hmac, EndpointURL: "https://x.example"}, Access: AccessRead})
		requireKind(t, err, apperr.Conflict, "credentials_not_scopable")
		require.NotContains(t, err.Error(), "long-lived-secret")
	}
	_, err = v.Vend(ctx, Request{Target: Target{Location: mustParse(t, "minio://acme-data/r"), Auth: hmac}, Access: AccessRead})
	requireField(t, err, "extra_config.endpoint_url")

	// A store that answers with the stored keys themselves is refused.
	echo := echoSTS{id: hmac.AccessKeyID, secret: hmac.SecretAccessKey}
	v = newVendor(t, WithHMACSTS(func(_, _, _, _ string) AssumeRoler { return echo }))
	_, err = v.Vend(ctx, Request{Target: Target{Location: mustParse(t, "minio://acme-data/r"), Auth: hmac, EndpointURL: "http://127.0.0.1:9"}, Access: AccessRead})
	requireKind(t, err, apperr.Conflict, "credentials_not_scopable")

	sm, err := v.Vend(ctx, Request{Target: Target{Location: mustParse(t, "gs://acme-data/r"), Auth: Auth{Type: AuthSelfManaged}}, Access: AccessWrite})
	require.NoError(t, err)
	require.False(t, sm.HasKeys())
	require.Empty(t, sm.SecretAccessKey+sm.SessionToken)
	require.Equal(t, "r/", sm.Prefix)
}

// STS failures: a refusal names the store's error code (conflict); an unreachable STS is
// unavailable. Neither leaks the remote message to the client text.
func TestVendSTSErrors_B6(t *testing.T) {
	rec := ststest.New()
	v := newVendor(t, WithAWSSTS(rec))
	req := Request{Target: roleTarget(t), Access: AccessRead, Caller: "user:bob"}
	rec.FailWith(&smithy.GenericAPIError{Code: "AccessDenied", Message: "secret internal detail"})
	_, err := v.Vend(context.Background(), req)
	requireKind(t, err, apperr.Conflict, "sts_refused")
	var ae *apperr.Error
	require.True(t, errors.As(err, &ae))
	require.NotContains(t, ae.Message, "secret internal detail")
	rec.FailWith(errors.New("dial tcp: connection refused"))
	_, err = v.Vend(context.Background(), req)
	requireKind(t, err, apperr.Unavailable, "sts_unavailable")
}

// The session name carries the caller within STS's charset and length, and two callers
// never share one.
func TestSessionName_B6(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{2,64}$`)
	seen := map[string]string{}
	for _, c := range []string{"", "user:alice@example.com", "user:alice_example.com", "pipeline:acme/ingest",
		"user:" + strings.Repeat("x", 100), "user:" + strings.Repeat("x", 101), "user:é*{}$\n", "sa:acme/bot"} {
		n := SessionName(c)
		require.Regexp(t, re, n, c)
		if prev, dup := seen[n]; dup {
			t.Fatalf("callers %q and %q share session name %q", prev, c, n)
		}
		seen[n] = c
	}
	require.Equal(t, "gh.sa_acme_bot", SessionName("sa:acme/bot")[:len("gh.sa_acme_bot")])
	require.Equal(t, "gh.robot-1", SessionName("robot-1"), "a caller already in the charset is kept as is")
}

type echoSTS struct{ id, secret string }

func (e echoSTS) AssumeRole(context.Context, *sts.AssumeRoleInput, ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId: aws.String(e.id), SecretAccessKey: aws.String(e.secret),
		SessionToken: aws.String("t"), Expiration: aws.Time(time.Now().Add(time.Hour)),
	}}, nil
}
