package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
)

// B6: `gatehouse creds` sends the access and duration, prints the AWS_* lines (NAME=value,
// or shell-quoted export statements a shell evaluates back to the same values) and the
// whole answer with -o json; bad arguments are refused before anything is sent.
func TestCredsCmd_B6(t *testing.T) {
	exp := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	answer := client.CredentialsResponse{AccessKeyID: "ASIAKEY", SecretAccessKey: "se'cr$et", SessionToken: "tok/en=",
		Expiration: &exp, Platform: "minio", Bucket: "data", Prefix: "acme/raw-1a2b/", EndpointURL: "http://127.0.0.1:9000",
		Region: "us-east-1", Access: client.AccessWrite}
	var hits atomic.Int32
	var got client.CredentialsRequest
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		path = r.URL.Path
		_ = json.NewDecoder(r.Body).Decode(&got)
		_ = json.NewEncoder(w).Encode(answer)
	}))
	defer srv.Close()
	t.Setenv("GATEHOUSE_CONFIG", filepath.Join(t.TempDir(), "config.yaml"))
	base := []string{"creds", "--addr", srv.URL, "--token", "x"}

	out, errOut, err := runCmd(t, "", append(base, "acme/raw", "--access", "write", "--duration", "30m")...)
	require.NoError(t, err)
	require.Equal(t, "/api/v1/repos/acme/raw/credentials", path)
	require.Equal(t, client.CredentialsRequest{Access: client.AccessWrite, Duration: "30m"}, got)
	require.Equal(t, "AWS_ACCESS_KEY_ID=ASIAKEY\nAWS_SECRET_ACCESS_KEY=se'cr$et\nAWS_SESSION_TOKEN=tok/en=\n"+
		"AWS_CREDENTIAL_EXPIRATION=2026-12-03T09:00:00Z\nAWS_ENDPOINT_URL=http://127.0.0.1:9000\n"+
		"AWS_REGION=us-east-1\nAWS_DEFAULT_REGION=us-east-1\n", out)
	require.Contains(t, errOut, "write credentials for minio://data/acme/raw-1a2b/")

	out, _, err = runCmd(t, "", append(base, "acme/raw", "--export")...)
	require.NoError(t, err)
	require.Equal(t, client.AccessRead, got.Access, "read unless asked")
	require.Contains(t, out, `export AWS_SECRET_ACCESS_KEY='se'\''cr$et'`+"\n")
	if sh, err := exec.LookPath("sh"); err == nil {
		echo, err := exec.Command(sh, "-c", out+`printf %s "$AWS_SECRET_ACCESS_KEY"`).Output()
		require.NoError(t, err)
		require.Equal(t, answer.SecretAccessKey, string(echo), "the shell reads back the exact value")
	}

	out, _, err = runCmd(t, "", append(base, "acme/raw", "-o", "json")...)
	require.NoError(t, err)
	var back client.CredentialsResponse
	require.NoError(t, json.Unmarshal([]byte(out), &back))
	require.Equal(t, answer.SessionToken, back.SessionToken)

	n := hits.Load()
	for args, msg := range map[string]string{
		"acme":                        "give it as ORG/REPO",
		"acme/raw/x":                  "give it as ORG/REPO",
		"/raw":                        "give it as ORG/REPO",
		"acme/raw --access admin":     `--access: "admin" is not one of read, write`,
		"acme/raw -o yaml":            "--output",
		"acme/raw --access= --export": `--access: "" is not one of read, write`,
	} {
		_, _, err := runCmd(t, "", append(base, strings.Fields(args)...)...)
		require.ErrorContains(t, err, msg, args)
	}
	require.Equal(t, n, hits.Load(), "nothing is sent for bad arguments")
}
