package harness

import (
	"context"
	"errors"
	"fmt"
	"github.com/aws/smithy-go"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MinIO is a running MinIO server: a real S3 (and STS) endpoint for the test.
type MinIO struct {
	Endpoint  string // http://127.0.0.1:<port>, S3 and STS alike
	AccessKey string // root user, random
	SecretKey string // root password, random
	Region    string // us-east-1, MinIO's default
}

// S3 returns an S3 client of the server with the given keys (a session token for vended
// ones), path-style, without retries, so a refusal is seen at once.
func (m *MinIO) S3(id, secret, token string) *s3.Client {
	return s3.New(s3.Options{
		Region:       m.Region,
		BaseEndpoint: aws.String(m.Endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}, nil
		}),
		RetryMaxAttempts: 1,
	})
}

// minioTool is the MinIO server binary: GATEHOUSE_MINIO_BIN, else minio on PATH, else
// $(go env GOPATH)/bin/minio (where scripts/test-deps.sh installs it).
var minioTool = tool{
	name: "minio", env: "GATEHOUSE_MINIO_BIN", skipEnv: "GATEHOUSE_SKIP_MINIO",
	elsewhere: "in $(go env GOPATH)/bin", places: gopathBins,
	howTo: "run scripts/test-deps.sh (it runs GOFLAGS=-mod=mod go install github.com/minio/minio@<pinned>, a few minutes)",
}

// MinIOBinary returns the path of a minio server binary (minioTool). If none is found
// the test fails and says how to get one, unless GATEHOUSE_SKIP_MINIO=1 asks to skip:
// then it is skipped loudly.
func MinIOBinary(t testing.TB) string { return minioTool.require(t) }

// S3Put, S3Get, S3Delete and S3List are the object calls the MinIO tests make, through
// client c on bucket.
func S3Put(ctx context.Context, c *s3.Client, bucket, key, body string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	return err
}

func S3Get(ctx context.Context, c *s3.Client, bucket, key string) (string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func S3Delete(ctx context.Context, c *s3.Client, bucket, key string) error {
	_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err
}

func S3List(ctx context.Context, c *s3.Client, bucket, prefix string) ([]string, error) {
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys, nil
}

// RequireS3Code fails t unless err is an S3 API error with one of codes (AccessDenied
// for a refusal by the session policy).
func RequireS3Code(t testing.TB, err error, codes ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an S3 error %v, got %v", codes, err)
	}
	if !slices.Contains(codes, ae.ErrorCode()) {
		t.Fatalf("want an S3 error %v, got %v", codes, err)
	}
}

// gopathBins is where go install puts minio: bin/minio under each GOPATH entry.
func gopathBins() []string {
	gopath := os.Getenv("GOPATH")
	if out, err := exec.Command(goBin(), "env", "GOPATH").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		gopath = strings.TrimSpace(string(out))
	}
	var out []string
	for _, dir := range filepath.SplitList(gopath) {
		out = append(out, filepath.Join(dir, "bin", "minio"))
	}
	return out
}

// StartMinIO runs a MinIO server for the test on a free loopback port, with a fresh data
// directory and random root credentials, and waits until it is ready. The server is
// stopped when the test ends; if the test failed, the last 50 lines of its log are
// printed. Extra environment (MINIO_*) can be passed as KEY=VALUE.
func StartMinIO(t testing.TB, env ...string) *MinIO {
	t.Helper()
	bin := MinIOBinary(t)
	dataDir := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "minio.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		logf.Close()
		if t.Failed() {
			t.Logf("harness: last 50 lines of the MinIO log %s:\n%s", logPath, logTail(logPath, 50))
		}
	})
	m := &MinIO{AccessKey: "root" + randomHex(8), SecretKey: randomHex(20), Region: "us-east-1"}
	start := time.Now()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		m.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
		fmt.Fprintf(logf, "=== harness: starting minio on %s (attempt %d)\n", m.Endpoint, attempt+1)
		stop, done, err := runMinIO(bin, port, dataDir, m, logf, env)
		if err != nil {
			t.Fatalf("harness: start minio: %v", err)
		}
		lastErr = waitMinIO(m, done, 60*time.Second)
		if lastErr == nil {
			t.Cleanup(stop)
			t.Logf("harness: minio serving on %s after %s", m.Endpoint, time.Since(start).Round(time.Millisecond))
			return m
		}
		stop()
		if !isBindError(logTail(logPath, 20)) {
			break
		}
	}
	t.Fatalf("harness: minio did not become ready: %v\nlast 50 log lines:\n%s", lastErr, logTail(logPath, 50))
	return nil
}

// runMinIO starts the server process; stop ends it (SIGTERM, then SIGKILL after 10s) and
// done is closed when it has exited.
func runMinIO(bin string, port int, dataDir string, m *MinIO, logf *os.File, env []string) (stop func(), done chan struct{}, err error) {
	cmd := exec.Command(bin, "server", "--quiet", "--address", "127.0.0.1:"+strconv.Itoa(port), dataDir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_REGION="+m.Region,
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	return stop, done, nil
}

// emptySHA256 is the SHA-256 of an empty payload, as SigV4 wants it.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// waitMinIO polls MinIO until a signed ListBuckets by the root user answers 200: its
// health endpoint says ready before the object layer and IAM (which STS needs) are.
func waitMinIO(m *MinIO, done <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("minio exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last = listBuckets(ctx, client, m)
		cancel()
		if last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s: %v", limit, last)
}

// listBuckets sends a SigV4-signed ListBuckets with the root credentials.
func listBuckets(ctx context.Context, client *http.Client, m *MinIO) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	creds := aws.Credentials{AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, emptySHA256, "s3", m.Region, time.Now()); err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("ListBuckets: %s: %s", resp.Status, body)
	}
	return nil
}
