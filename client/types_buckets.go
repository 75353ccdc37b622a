package client

import "time"

// BucketExtraConfig is a bucket config's extra config (B1).
type BucketExtraConfig struct {
	EndpointURL string `json:"endpoint_url,omitempty"`
	Region      string `json:"region,omitempty"`
}

// BucketAuth is a bucket config's auth (B1): {"type":"self_managed"},
// {"type":"hmac","access_key_id","secret_access_key"} or
// {"type":"aws_role","role_arn","external_id"}. Reads return the type and the non-secret
// fields only (B5): SecretAccessKey and ExternalID are never sent back.
type BucketAuth struct {
	Type            string `json:"type"`
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
	RoleARN         string `json:"role_arn,omitempty"`
	ExternalID      string `json:"external_id,omitempty"`
}

// BucketRequest is POST /api/v1/orgs/{org}/buckets's body (B1, B2). URI is
// platform://bucket[/prefix]; Platform, when given, must agree with its scheme.
type BucketRequest struct {
	Nickname    string            `json:"nickname"`
	URI         string            `json:"uri"`
	Platform    string            `json:"platform,omitempty"`
	ExtraConfig BucketExtraConfig `json:"extra_config"`
	Auth        BucketAuth        `json:"auth"`
	Default     bool              `json:"default,omitempty"`
}

// BucketExtraPatch changes the extra config; nil fields stay.
type BucketExtraPatch struct {
	EndpointURL *string `json:"endpoint_url,omitempty"`
	Region      *string `json:"region,omitempty"`
}

// BucketPatch is PATCH /api/v1/orgs/{org}/buckets/{nickname}'s body (B3): nil fields stay
// as they are; Auth replaces the whole auth. While repos use the config only Nickname
// (and Default) can change.
type BucketPatch struct {
	Nickname    *string           `json:"nickname,omitempty"`
	URI         *string           `json:"uri,omitempty"`
	Platform    *string           `json:"platform,omitempty"`
	ExtraConfig *BucketExtraPatch `json:"extra_config,omitempty"`
	Auth        *BucketAuth       `json:"auth,omitempty"`
	Default     *bool             `json:"default,omitempty"`
}

// Bucket is a bucket config as the API shows it: never a secret (B5).
type Bucket struct {
	Org         string            `json:"org"`
	Nickname    string            `json:"nickname"`
	URI         string            `json:"uri"`
	Platform    string            `json:"platform"`
	Bucket      string            `json:"bucket"`
	Prefix      string            `json:"prefix"`
	ExtraConfig BucketExtraConfig `json:"extra_config"`
	Auth        BucketAuth        `json:"auth"`
	Default     bool              `json:"default"`
	CreatedAt   time.Time         `json:"created_at"`
	CreatedBy   string            `json:"created_by"`
}

// BucketsResponse lists an org's bucket configs.
type BucketsResponse struct {
	Buckets []Bucket `json:"buckets"`
}

// IAMPolicyResponse is GET /api/v1/orgs/{org}/buckets/{nickname}/iam-policy (B7): the
// IAM permission policy and trust policy the bucket owner installs for an aws_role config.
type IAMPolicyResponse struct {
	PermissionPolicy map[string]any `json:"permission_policy"`
	TrustPolicy      map[string]any `json:"trust_policy"`
}
