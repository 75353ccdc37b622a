package credentials

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// stsTimeout bounds one AssumeRole call at a store's STS.
const stsTimeout = 15 * time.Second

// NewHMACSTS returns an STS client that signs with a bucket config's hmac keys and talks
// to the store's own endpoint (MinIO serves STS at the same URL as S3). The region
// defaults to us-east-1, which MinIO expects unless configured otherwise.
func NewHMACSTS(endpoint, region, accessKeyID, secret string) AssumeRoler {
	if region == "" {
		region = "us-east-1"
	}
	return sts.New(sts.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret, Source: "gatehouse bucket config"}, nil
		}),
		HTTPClient:       stsHTTPClient(),
		RetryMaxAttempts: 2,
	})
}

// stsHTTPClient is the HTTP client of a store's STS. Its dialer refuses the addresses
// metadataHost refuses, after name resolution: an endpoint whose name resolves to a
// link-local or cloud metadata address when vending calls it (a name changed after the
// config was saved, DNS rebinding) is refused at connection time too, so the config's
// keys never reach the metadata service of the host Gatehouse runs on.
func stsHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if metadataHost(host) {
			return fmt.Errorf("refusing to connect to %s: a link-local or cloud metadata address, never an object store", host)
		}
		return nil
	}}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = d.DialContext
	return &http.Client{Timeout: stsTimeout, Transport: t}
}
