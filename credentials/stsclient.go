package credentials

import (
	"context"
	"net/http"
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
		HTTPClient:       &http.Client{Timeout: stsTimeout},
		RetryMaxAttempts: 2,
	})
}
