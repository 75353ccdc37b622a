package harness

import (
	"strings"
	"testing"
)

// The secret scan finds a recorded secret, the secret part of a recorded token alone,
// and any Gatehouse token or refresh token, recorded or not; a clean log has none.
func TestSecretScanFindsLeaks(t *testing.T) {
	token := "gth_" + strings.Repeat("i", 16) + strings.Repeat("s", 52) + "ccccccc"
	HarvestSecrets([]byte(`{"id":"short","token":"` + token + `","nested":[{"secret_access_key":"wJalrXUtnFEMI/K7MDENG"}]}`))
	for _, leak := range []string{
		"minted " + token,
		"secret part alone: " + strings.Repeat("s", 52),
		"key=wJalrXUtnFEMI/K7MDENG",
		"never recorded: gth_" + strings.Repeat("a", 75),
		"a refresh token: ghr_" + strings.Repeat("b", 80),
	} {
		if hits := FindSecrets([]byte(leak)); len(hits) == 0 {
			t.Errorf("no hit in %q", leak)
		}
	}
	clean := `{"msg":"request","token_id":"` + strings.Repeat("i", 16) + `","id":"short"}`
	if hits := FindSecrets([]byte(clean)); len(hits) != 0 {
		t.Errorf("hits in a clean log: %v", hits)
	}
	t.Log(SecretScanSummary())
}
