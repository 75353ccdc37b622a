package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gatehouse-dev/gatehouse/app"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/ststest"
	orgsvc "github.com/gatehouse-dev/gatehouse/orgs"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// vend_ms (part "vend"): the latency of POST /api/v1/repos/{org}/{repo}/credentials
// through HTTP, by an org member, one request at a time:
//
//	vend_ms_p50, vend_ms_p99              aws_role through the recording STS double
//	                                      (internal/ststest on loopback HTTP): the checks at
//	                                      full consistency, the store reads, the session
//	                                      policy, an STS round trip that costs next to nothing
//	vend_self_managed_ms_p50, _p99        self_managed: the checks and store reads only
//	vend_minio_sts_ms_p50, _p99           hmac on a real MinIO: AssumeRole at MinIO's STS
var (
	vendRounds = flag.Int("vend-rounds", 300, "vends measured per kind in the vend part")
	vendMinIO  = flag.Bool("vend-minio", true, "measure vending through MinIO's STS too (needs the minio binary, see tests/harness)")
)

const vendOrg = "vendbench"

// vendBench runs the vend part on a fresh in-memory Gatehouse.
func vendBench(ctx context.Context) error {
	rec := ststest.New()
	sts := httptest.NewServer(rec)
	defer sts.Close()
	// The SDK's default configuration reads these: the double only records the signer.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench-secret",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"} {
		_ = os.Setenv(k, v)
	}
	t, err := startConfigured(ctx, func(c *app.Config) { c.AWSSTS, c.AWSSTSEndpoint = true, sts.URL })
	if err != nil {
		return err
	}
	defer t.close()
	member, err := vendFixture(ctx, t)
	if err != nil {
		return err
	}
	note("vend: %d sequential POST /api/v1/repos/%s/<repo>/credentials (access read) by an org member over loopback HTTP; "+
		"checks at full consistency (no check cache), in-memory store and SpiceDB", *vendRounds, vendOrg)
	kinds := []struct{ name, repo, what string }{
		{"vend_ms", "role-repo", "aws_role via the recording STS double (loopback HTTP)"},
		{"vend_self_managed_ms", "sm-repo", "self_managed (no STS, no policy)"},
	}
	if *vendMinIO {
		stop, err := vendMinIOFixture(ctx, t)
		defer stop()
		if err != nil {
			note("vend_minio_sts_ms: SKIPPED: %v (-vend-minio=false skips it quietly)", err)
		} else {
			kinds = append(kinds, struct{ name, repo, what string }{"vend_minio_sts_ms", "minio-repo", "hmac via MinIO's STS (AssumeRole on loopback)"})
		}
	}
	for _, k := range kinds {
		r, err := measureVends(ctx, t.base, member, k.repo)
		if err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		note("%s: %s", k.name, k.what)
		figure(k.name+"_p50", r.pct(0.50), "ms")
		figure(k.name+"_p99", r.pct(0.99), "ms")
	}
	if n := len(rec.Calls()); n < *vendRounds {
		return fmt.Errorf("the STS double saw %d AssumeRole calls, want at least %d", n, *vendRounds)
	}
	return nil
}

// startConfigured is startTarget on the memory store with settings of its own.
func startConfigured(ctx context.Context, mutate func(*app.Config)) (*target, error) {
	cfg := app.DefaultConfig()
	cfg.HTTPAddr, cfg.Version, cfg.LogLevel = "127.0.0.1:0", "bench", "warn"
	cfg.AuthFailureLimit = 1 << 30
	mutate(&cfg)
	a, err := app.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t := &target{name: "vend", app: a, done: make(chan error, 1)}
	if err := t.serve(ctx); err != nil {
		_ = a.Close()
		return nil, err
	}
	if err := t.activate(ctx); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// vendFixture creates the org, an aws_role and a self_managed bucket config with a repo
// each, and a member; it returns the member's token.
func vendFixture(ctx context.Context, t *target) (string, error) {
	const email = "vender@example.com"
	orgs := "/api/v1/orgs/" + vendOrg
	steps := []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/orgs", client.OrgRequest{Name: vendOrg}},
		{"PUT", orgs + "/members/" + email, client.RoleBody{Role: orgsvc.RoleMember}},
		{"POST", orgs + "/buckets", client.BucketRequest{Nickname: "role", URI: "s3://gatehouse-bench-role/data", Default: true,
			ExtraConfig: client.BucketExtraConfig{Region: "us-east-1"},
			Auth:        client.BucketAuth{Type: "aws_role", RoleARN: "arn:aws:iam::123456789012:role/bench", ExternalID: "bench-external-id"}}},
		{"POST", orgs + "/buckets", client.BucketRequest{Nickname: "sm", URI: "s3://gatehouse-bench-sm/data", Auth: client.BucketAuth{Type: "self_managed"}}},
		{"POST", orgs + "/repos", client.RepoRequest{Name: "role-repo", Bucket: "role"}},
		{"POST", orgs + "/repos", client.RepoRequest{Name: "sm-repo", Bucket: "sm"}},
	}
	for _, s := range steps {
		if err := call(ctx, t.base, t.adminToken, s.method, s.path, s.body, nil); err != nil {
			return "", err
		}
	}
	m, err := t.app.Tokens().Mint(ctx, tokens.MintRequest{Subject: "user:" + email, Kind: tokens.KindUser, TTL: 24 * time.Hour})
	if err != nil {
		return "", err
	}
	return m.Token, nil
}

// vendMinIOFixture starts MinIO, creates its bucket, an hmac bucket config with MinIO's
// root keys and a repo on it.
func vendMinIOFixture(ctx context.Context, t *target) (stop func(), err error) {
	tb := &vendTB{}
	stop = tb.runCleanups
	m, err := startMinIO(tb)
	if err != nil {
		return stop, err
	}
	root := s3.New(s3.Options{Region: m.Region, BaseEndpoint: aws.String(m.Endpoint), UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil
		})})
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("gatehouse-bench-minio")}); err != nil {
		return stop, err
	}
	orgs := "/api/v1/orgs/" + vendOrg
	if err := call(ctx, t.base, t.adminToken, "POST", orgs+"/buckets", client.BucketRequest{Nickname: "minio", URI: "minio://gatehouse-bench-minio/data",
		ExtraConfig: client.BucketExtraConfig{EndpointURL: m.Endpoint, Region: m.Region},
		Auth:        client.BucketAuth{Type: "hmac", AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}}, nil); err != nil {
		return stop, err
	}
	return stop, call(ctx, t.base, t.adminToken, "POST", orgs+"/repos", client.RepoRequest{Name: "minio-repo", Bucket: "minio"}, nil)
}

// measureVends vends read credentials for repo *vendRounds times, one at a time.
func measureVends(ctx context.Context, base, token, repo string) (result, error) {
	var r result
	start := time.Now()
	for range *vendRounds {
		t0 := time.Now()
		var out client.CredentialsResponse
		if err := call(ctx, base, token, "POST", "/api/v1/repos/"+vendOrg+"/"+repo+"/credentials",
			client.CredentialsRequest{Access: client.AccessRead}, &out); err != nil {
			return r, err
		}
		r.lat = append(r.lat, time.Since(t0))
		if out.Prefix == "" || out.Access != client.AccessRead {
			return r, fmt.Errorf("unexpected answer %+v", out)
		}
	}
	r.elapsed = time.Since(start)
	return r, nil
}

var vendHTTP = &http.Client{Timeout: 60 * time.Second}

// call sends a JSON request and decodes a 2xx answer into out (nil: discarded).
func call(ctx context.Context, base, token, method, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := vendHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// vendTB lets tests/harness.StartMinIO run outside go test.
type vendTB struct{ benchTB }

func (t *vendTB) TempDir() string {
	d, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		panic(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}
func (t *vendTB) Failed() bool { return false }

// startMinIO is harness.StartMinIO with its panics (benchTB.Fatalf) turned into errors.
func startMinIO(tb *vendTB) (m *harness.MinIO, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("MinIO: %v", r)
		}
	}()
	return harness.StartMinIO(tb), nil
}
