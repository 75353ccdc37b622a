package credentials

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

// TestEndpointNeverMetadataB1B6: a bucket config's endpoint cannot aim vending's calls
// (which carry the config's keys) at a cloud metadata service or another address no
// object store has; loopback, private addresses and names stay allowed (on-prem stores).
func TestEndpointNeverMetadataB1B6(t *testing.T) {
	for _, ep := range []string{"http://169.254.169.254", "http://169.254.169.254/latest/meta-data", "http://[fe80::1]:9000",
		"http://[fd00:ec2::254]", "http://metadata.google.internal", "http://METADATA.google.internal.", "http://0.0.0.0:9000",
		"http://[::]:9000", "http://224.0.0.1", "http://[::ffff:169.254.169.254]"} {
		err := ValidateEndpoint(ep)
		require.Equal(t, apperr.Invalid, apperr.KindOf(err), ep)
		var ae *apperr.Error
		require.ErrorAs(t, err, &ae)
		require.Equal(t, "extra_config.endpoint_url", ae.Field)
	}
	for _, ep := range []string{"http://127.0.0.1:9000", "https://s3.us-east-1.amazonaws.com", "http://10.0.0.5:9000", "http://minio.internal:9000", "http://[::1]:9000"} {
		require.NoError(t, ValidateEndpoint(ep), ep)
	}
}
