package tests

// Issue 9.6: a real S3 (MinIO) behind the real binary. An hmac bucket config holds
// MinIO's keys and endpoint; two repos (repo1, repo10) get their own prefixes; the
// credentials Gatehouse vends, over HTTP and through `gatehouse creds`, are proved with
// aws-sdk-go-v2's S3 client against MinIO itself (B6, R4).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

const minioBucket = "gatehouse-e2e"

func s3With(m *harness.MinIO, c client.CredentialsResponse) *s3.Client {
	return m.S3(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

func requireS3Denied(t *testing.T, err error) {
	t.Helper()
	harness.RequireS3Code(t, err, "AccessDenied")
}

// minioWorld is MinIO, a server, org acme with member bob, the hmac config and two repos.
type minioWorld struct {
	m         *harness.MinIO
	v         *vendEnv
	root      *s3.Client
	bob       string
	p1, p10   string // the repos' prefixes
	ancestors []string
}

func startMinioWorld(t *testing.T, backendName string) *minioWorld {
	w := &minioWorld{m: harness.StartMinIO(t), v: startVendEnv(t, backendName)}
	w.root = w.m.S3(w.m.AccessKey, w.m.SecretKey, "")
	_, err := w.root.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(minioBucket)})
	require.NoError(t, err)
	v := w.v
	v.json(t, "POST", "/api/v1/orgs", v.admin, map[string]string{"name": "acme"}, 201, nil)
	v.json(t, "PUT", "/api/v1/orgs/acme/members/bob@example.com", v.admin, map[string]string{"role": "member"}, 200, nil)
	// Two configs in one bucket, at repo1 and repo10: they do not overlap (B1), and the
	// repos' prefixes start "repo1/" and "repo10/", the classic repo1 -> repo10 leak.
	for _, nick := range []string{"repo1", "repo10"} {
		v.json(t, "POST", "/api/v1/orgs/acme/buckets", v.admin, map[string]any{"nickname": nick, "uri": "minio://" + minioBucket + "/" + nick,
			"default": nick == "repo1", "extra_config": map[string]string{"endpoint_url": w.m.Endpoint, "region": w.m.Region},
			"auth": map[string]string{"type": "hmac", "access_key_id": w.m.AccessKey, "secret_access_key": w.m.SecretKey}}, 201, nil)
	}
	w.p1 = v.createRepo(t, "acme", "repo1", "repo1").Prefix
	w.p10 = v.createRepo(t, "acme", "repo10", "repo10").Prefix
	require.True(t, strings.HasPrefix(w.p1, "repo1/") && strings.HasPrefix(w.p10, "repo10/"), "%s %s", w.p1, w.p10)
	w.bob = v.userToken(t, "bob@example.com")
	for _, p := range []string{w.p1, w.p10} {
		require.NoError(t, harness.S3Put(context.Background(), w.root, minioBucket, p+"seed.txt", "seed of "+p))
	}
	require.NoError(t, harness.S3Put(context.Background(), w.root, minioBucket, "top.txt", "outside every repo"))
	// String prefixes shorter than repo1's own: the bucket, "repo1" (which reaches
	// repo10's objects), "repo1/", repo1's prefix without its final "/".
	w.ancestors = []string{"", "repo", "repo1", "repo1/", "repo1/acme/", strings.TrimSuffix(w.p1, "/")}
	return w
}

// TestVendOnMinIOOverHTTPAndCLI_B6 is issue 9.6 on both stores.
func TestVendOnMinIOOverHTTPAndCLI_B6(t *testing.T) {
	for _, b := range vendBackends {
		t.Run(b, func(t *testing.T) {
			w := startMinioWorld(t, b)
			t.Run("B6_R4_read_over_HTTP", func(t *testing.T) { w.readOverHTTP(t) })
			t.Run("B6_R4_write_over_HTTP", func(t *testing.T) { w.writeOverHTTP(t) })
			t.Run("B6_CLI_creds_export_read_by_the_AWS_SDK", func(t *testing.T) { w.overCLI(t) })
			t.Run("B6_expired_credentials_stop_working", func(t *testing.T) { w.expiry(t) })
		})
	}
}

func (w *minioWorld) readOverHTTP(t *testing.T) {
	c, _ := w.v.vend(t, w.bob, "acme/repo1", client.CredentialsRequest{Access: client.AccessRead, Duration: "15m"}, 200)
	require.NotEqual(t, w.m.AccessKey, c.AccessKeyID, "never the stored keys")
	require.NotEqual(t, w.m.SecretKey, c.SecretAccessKey)
	require.Equal(t, w.p1, c.Prefix)
	require.Equal(t, minioBucket, c.Bucket)
	require.Equal(t, w.m.Endpoint, c.EndpointURL)
	requireMinIOExpiry(t, c)
	s := s3With(w.m, c)
	body, err := harness.S3Get(context.Background(), s, minioBucket, w.p1+"seed.txt")
	require.NoError(t, err)
	require.Equal(t, "seed of "+w.p1, body)
	keys, err := harness.S3List(context.Background(), s, minioBucket, w.p1)
	require.NoError(t, err)
	require.Equal(t, []string{w.p1 + "seed.txt"}, keys)
	requireS3Denied(t, harness.S3Put(context.Background(), s, minioBucket, w.p1+"new.txt", "no"))
	requireS3Denied(t, harness.S3Delete(context.Background(), s, minioBucket, w.p1+"seed.txt"))
	w.requireOutsideDenied(t, s)
}

// requireOutsideDenied: nothing of repo10, nothing outside repo1, by key or by listing.
func (w *minioWorld) requireOutsideDenied(t *testing.T, s *s3.Client) {
	t.Helper()
	for _, k := range []string{w.p10 + "seed.txt", "top.txt"} {
		_, err := harness.S3Get(context.Background(), s, minioBucket, k)
		requireS3Denied(t, err)
	}
	for _, p := range append([]string{w.p10}, w.ancestors...) {
		_, err := harness.S3List(context.Background(), s, minioBucket, p)
		requireS3Denied(t, err)
	}
}

func (w *minioWorld) writeOverHTTP(t *testing.T) {
	c, _ := w.v.vend(t, w.bob, "acme/repo1", client.CredentialsRequest{Access: client.AccessWrite}, 200)
	require.WithinDuration(t, time.Now().Add(time.Hour), *c.Expiration, time.Minute, "1h by default")
	s := s3With(w.m, c)
	require.NoError(t, harness.S3Put(context.Background(), s, minioBucket, w.p1+"new.txt", "written"))
	body, err := harness.S3Get(context.Background(), s, minioBucket, w.p1+"new.txt")
	require.NoError(t, err)
	require.Equal(t, "written", body)
	require.NoError(t, harness.S3Delete(context.Background(), s, minioBucket, w.p1+"new.txt"))
	_, err = harness.S3Get(context.Background(), w.root, minioBucket, w.p1+"new.txt")
	harness.RequireS3Code(t, err, "NoSuchKey")
	multipart(t, s, w.p1+"big.bin")

	for _, k := range []string{w.p10 + "evil.txt", strings.TrimSuffix(w.p1, "/") + "x.txt", "top.txt"} {
		requireS3Denied(t, harness.S3Put(context.Background(), s, minioBucket, k, "no"))
	}
	requireS3Denied(t, harness.S3Delete(context.Background(), s, minioBucket, w.p10+"seed.txt"))
	_, err = s.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String(minioBucket), Key: aws.String(w.p10 + "mp")})
	requireS3Denied(t, err)
	w.requireOutsideDenied(t, s)
	body, err = harness.S3Get(context.Background(), w.root, minioBucket, w.p10+"seed.txt")
	require.NoError(t, err)
	require.Equal(t, "seed of "+w.p10, body, "repo10 is untouched")

	// repo10's writer does not reach repo1 either.
	c10, _ := w.v.vend(t, w.bob, "acme/repo10", client.CredentialsRequest{Access: client.AccessWrite}, 200)
	s10 := s3With(w.m, c10)
	_, err = harness.S3Get(context.Background(), s10, minioBucket, w.p1+"seed.txt")
	requireS3Denied(t, err)
	requireS3Denied(t, harness.S3Put(context.Background(), s10, minioBucket, w.p1+"evil.txt", "no"))
	require.NoError(t, harness.S3Put(context.Background(), s10, minioBucket, w.p10+"own.txt", "x"))
}

// multipart uploads two parts (the first at MinIO's 5 MiB minimum), completes the upload,
// and aborts another.
func multipart(t *testing.T, s *s3.Client, key string) {
	ctx, b := context.Background(), aws.String(minioBucket)
	up, err := s.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String(key)})
	require.NoError(t, err)
	var parts []s3types.CompletedPart
	for i, data := range [][]byte{bytes.Repeat([]byte{'a'}, 5<<20), []byte("tail")} {
		n := aws.Int32(int32(i + 1))
		out, err := s.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String(key), UploadId: up.UploadId, PartNumber: n, Body: bytes.NewReader(data)})
		require.NoError(t, err)
		parts = append(parts, s3types.CompletedPart{ETag: out.ETag, PartNumber: n})
	}
	lp, err := s.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: aws.String(key), UploadId: up.UploadId})
	require.NoError(t, err)
	require.Len(t, lp.Parts, 2)
	_, err = s.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String(key), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
	require.NoError(t, err)
	head, err := s.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String(key)})
	require.NoError(t, err)
	require.Equal(t, int64(5<<20+4), aws.ToInt64(head.ContentLength))
	ab, err := s.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String(key + ".aborted")})
	require.NoError(t, err)
	_, err = s.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String(key + ".aborted"), UploadId: ab.UploadId})
	require.NoError(t, err)
}

// overCLI: `gatehouse creds --export`, evaluated by a shell, gives an environment that
// the AWS SDK's default configuration reads (keys, session token, endpoint, region);
// -o json gives the whole answer; refusals exit non-zero with the API's code.
func (w *minioWorld) overCLI(t *testing.T) {
	out, errOut, code := gh(t, w.v.s, w.bob, "", "creds", "acme/repo1", "--access", "read", "--export")
	require.Equal(t, 0, code, "%s%s", out, errOut)
	require.Contains(t, errOut, "read credentials for minio://"+minioBucket+"/"+w.p1)
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	dump, err := exec.Command(sh, "-c", out+"\nenv").Output()
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, line := range strings.Split(string(dump), "\n") {
		if k, val, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, val)
			seen[k] = true
		}
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION"} {
		require.True(t, seen[k], "%s not exported: %s", k, out)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_PROFILE", "")
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	require.NoError(t, err)
	s := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	body, err := harness.S3Get(context.Background(), s, minioBucket, w.p1+"seed.txt")
	require.NoError(t, err, "the AWS SDK reads the exported environment")
	require.Equal(t, "seed of "+w.p1, body)
	requireS3Denied(t, harness.S3Put(context.Background(), s, minioBucket, w.p1+"cli.txt", "no"))
	w.requireOutsideDenied(t, s)

	out, errOut, code = gh(t, w.v.s, w.bob, "", "creds", "acme/repo10", "--access", "write", "--duration", "30m", "-o", "json")
	require.Equal(t, 0, code, "%s%s", out, errOut)
	var c client.CredentialsResponse
	require.NoError(t, json.Unmarshal([]byte(out), &c))
	require.WithinDuration(t, time.Now().Add(30*time.Minute), *c.Expiration, time.Minute)
	require.NoError(t, harness.S3Put(context.Background(), s3With(w.m, c), minioBucket, w.p10+"cli.txt", "via the CLI"))

	eve := w.v.userToken(t, "eve@example.com")
	for _, c := range []struct {
		token string
		args  []string
		want  string
	}{
		{eve, []string{"creds", "acme/repo1"}, "(HTTP 404, not_found)"},
		{w.bob, []string{"creds", "acme/repo1", "--duration", "13h"}, "(HTTP 400, invalid_argument)"},
		{w.bob, []string{"creds", "acme/repo1", "--access", "admin"}, `--access: "admin" is not one of read, write`},
	} {
		out, errOut, code := gh(t, w.v.s, c.token, "", c.args...)
		require.Equal(t, 1, code, "%v: %s", c.args, out)
		require.Contains(t, errOut, c.want, "%v", c.args)
		require.Empty(t, out, "nothing on stdout for a refusal")
	}
}

// requireMinIOExpiry reads the expiry MinIO wrote into the session token (a JWT): MinIO
// enforces the very instant Gatehouse announces.
func requireMinIOExpiry(t *testing.T, c client.CredentialsResponse) {
	t.Helper()
	parts := strings.Split(c.SessionToken, ".")
	require.Len(t, parts, 3, "MinIO session tokens are JWTs")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		Exp int64 `json:"exp"`
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	require.NotNil(t, c.Expiration)
	require.InDelta(t, c.Expiration.Unix(), claims.Exp, 1)
}

// expiry: credentials stop working when they expire. MinIO's shortest session is 15
// minutes (as is STS's), so waiting it out is opt-in (GATEHOUSE_MINIO_EXPIRY=1, as in
// credentials/minio_test.go); otherwise the run proves that MinIO holds the announced
// expiry (requireMinIOExpiry above) and that credentials minted with a session token
// that is tampered with are refused, the way an expired one is.
func (w *minioWorld) expiry(t *testing.T) {
	c, _ := w.v.vend(t, w.bob, "acme/repo1", client.CredentialsRequest{Access: client.AccessRead, Duration: "15m"}, 200)
	requireMinIOExpiry(t, c)
	forged := c
	forged.SessionToken = c.SessionToken[:len(c.SessionToken)-4] + "AAAA"
	_, err := harness.S3Get(context.Background(), s3With(w.m, forged), minioBucket, w.p1+"seed.txt")
	require.Error(t, err, "a session token MinIO did not sign is refused")
	if os.Getenv("GATEHOUSE_MINIO_EXPIRY") != "1" {
		t.Skip("set GATEHOUSE_MINIO_EXPIRY=1 to wait out MinIO's 15-minute minimum session (the expiry MinIO holds was checked)")
	}
	s := s3With(w.m, c)
	_, err = harness.S3Get(context.Background(), s, minioBucket, w.p1+"seed.txt")
	require.NoError(t, err)
	wait := time.Until(*c.Expiration) + 5*time.Second
	t.Logf("waiting %s for the credentials to expire at %s", wait.Round(time.Second), c.Expiration.Format(time.RFC3339))
	time.Sleep(wait)
	_, err = harness.S3Get(context.Background(), s, minioBucket, w.p1+"seed.txt")
	harness.RequireS3Code(t, err, "InvalidAccessKeyId", "ExpiredToken", "AccessDenied")
}
