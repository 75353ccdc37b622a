package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The secret scan (issue 10.6, S1): every secret a test process sees is recorded (the
// answers and request bodies of Server.Do, and whatever a test passes to RecordSecret or
// HarvestSecrets), and every server log the harness writes (Gatehouse, SpiceDB,
// PostgreSQL, and any file given to ScanLogForSecrets) is scanned for all of them when
// its test ends, after the server has stopped; so is the audit log of every Gatehouse
// the test activated through Server.Do (read with that activation's token, if it still
// works, just before the server stops). A hit fails that test. Every Gatehouse access token and
// refresh token in a log is a hit too, recorded or not (their fixed prefixes make them
// findable: tokens minted by the CLI tests are caught this way). SecretScanSummary gives
// the figures for the end of the run.

var (
	secretsMu sync.Mutex
	secrets   = map[string]bool{} // every secret, and the secret part of every token

	scannedLogs   atomic.Int64
	scannedAudits atomic.Int64
	scannedBytes  atomic.Int64
	secretsLeaked atomic.Int64
)

// leakPattern matches Gatehouse access tokens (gth_) and refresh tokens (ghr_) anywhere.
var leakPattern = regexp.MustCompile(`ghr_[a-z2-7]{40,}|gth_[a-z2-7]{70,}`)

// secretKeys are the JSON keys whose string values are secrets, in answers and requests.
var secretKeys = map[string]bool{
	"token": true, "refresh_token": true, "access_token": true, "api_key": true, "secret": true,
	"secret_access_key": true, "session_token": true, "client_secret": true, "external_id": true,
	"password": true,
}

// minSecretLen: shorter values are not recorded (they would match by chance).
const minSecretLen = 12

// RecordSecret adds s to the secrets every log is scanned for. For a Gatehouse token
// its secret part is recorded too, so that a log holding only that part is caught.
func RecordSecret(s string) {
	if len(s) < minSecretLen {
		return
	}
	secretsMu.Lock()
	defer secretsMu.Unlock()
	secrets[s] = true
	switch {
	case strings.HasPrefix(s, "gth_") && len(s) == 79: // gth_ + 16 id + 52 secret + 7 sum
		secrets[s[20:72]] = true
	case strings.HasPrefix(s, "ghr_") && len(s) > 60: // ghr_ + session id + 52 secret
		secrets[s[len(s)-52:]] = true
	}
}

// HarvestSecrets records the secrets found in a JSON document (values of secretKeys, at
// any depth) and every token-shaped string in data, JSON or not.
func HarvestSecrets(data []byte) {
	for _, m := range leakPattern.FindAll(data, -1) {
		RecordSecret(string(m))
	}
	var v any
	if json.Unmarshal(data, &v) == nil {
		harvestJSON(v)
	}
}

func harvestJSON(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && secretKeys[strings.ToLower(k)] {
				RecordSecret(s)
			}
			harvestJSON(val)
		}
	case []any:
		for _, val := range x {
			harvestJSON(val)
		}
	}
}

// ScanLogForSecrets scans the file at path for every recorded secret when t ends (after
// the cleanups registered after this call, so call it once the file exists and before
// starting what writes it) and fails t on a hit.
func ScanLogForSecrets(t testing.TB, path string) {
	t.Helper()
	t.Cleanup(func() { scanFile(t, path) })
}

// scanFile scans one file now.
func scanFile(t testing.TB, path string) {
	if hits := scanPath(path); len(hits) > 0 {
		t.Errorf("harness: SECRET LEAK: %s holds %d secret(s) the tests minted or sent: %s", path, len(hits), strings.Join(hits, ", "))
	}
}

// scanPath scans one file now and counts it.
func scanPath(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil // never written
	}
	scannedLogs.Add(1)
	scannedBytes.Add(int64(len(data)))
	hits := FindSecrets(data)
	secretsLeaked.Add(int64(len(hits)))
	return hits
}

// ScanSharedPostgresLog scans the log of the PostgreSQL cluster the test process shares
// (call it from TestMain after m.Run, before Cleanup) and returns the secrets found.
func ScanSharedPostgresLog() []string {
	pgMu.Lock()
	c := pgShared
	pgMu.Unlock()
	if c == nil {
		return nil
	}
	return scanPath(c.logPath)
}

// FindSecrets returns the recorded secrets and token-shaped strings found in data, each
// shown by its first characters only.
func FindSecrets(data []byte) []string {
	var hits []string
	for _, m := range leakPattern.FindAll(data, -1) {
		hits = append(hits, redact(string(m)))
	}
	secretsMu.Lock()
	defer secretsMu.Unlock()
	for s := range secrets {
		if bytes.Contains(data, []byte(s)) {
			hits = append(hits, redact(s))
		}
	}
	sort.Strings(hits)
	return hits
}

func redact(s string) string {
	if len(s) > 8 {
		return s[:8] + "..."
	}
	return s
}

// SecretScanSummary is the scan's figures so far: secrets recorded, log files and bytes
// scanned, secrets found.
func SecretScanSummary() string {
	secretsMu.Lock()
	n := len(secrets)
	secretsMu.Unlock()
	return fmt.Sprintf("SECRET SCAN: %d secrets recorded, %d log files (%d kB) and %d audit logs scanned, %d found",
		n, scannedLogs.Load(), scannedBytes.Load()>>10, scannedAudits.Load(), secretsLeaked.Load())
}

// noteActivation remembers the admin token of an activation answered through Do, with
// which scanAudit reads the audit log when the test ends.
func (s *Server) noteActivation(method, path string, status int, body []byte) {
	if method != http.MethodPost || path != "/api/v1/activate" || status != http.StatusCreated {
		return
	}
	var out struct{ Token string }
	if json.Unmarshal(body, &out) == nil && out.Token != "" {
		s.admin.Store(out.Token)
	}
}

// scanAudit reads the server's whole audit log with the last activation's token (when
// the test activated the server through Do, and the token and the server still work)
// and fails t if it holds a secret.
func (s *Server) scanAudit(t testing.TB) {
	token, _ := s.admin.Load().(string)
	if exited, _ := s.Exited(); token == "" || exited {
		return
	}
	req, err := http.NewRequest(http.MethodGet, s.URL+"/api/v1/audit?limit=10000", nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return // revoked, deactivated, or a dependency down: nothing to read
	}
	scannedAudits.Add(1)
	if hits := FindSecrets(data); len(hits) > 0 {
		secretsLeaked.Add(int64(len(hits)))
		t.Errorf("harness: SECRET LEAK: the audit log of %s holds %d secret(s) the tests minted or sent: %s", s.URL, len(hits), strings.Join(hits, ", "))
	}
}
