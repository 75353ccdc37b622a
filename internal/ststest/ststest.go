// Package ststest provides a recording STS double for tests of code that assumes AWS
// roles (the aws_role path of credential vending), where no real AWS account is at hand.
// It records every AssumeRole input (role ARN, external ID, session name, duration,
// policy) and answers with fresh random temporary credentials, or with a set error.
// It serves the same over HTTP (STS's query protocol) for a Gatehouse process to call.
// It stands in for AWS STS only; the code under test stays real.
package ststest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// Recorder records AssumeRole calls. The zero value answers every call with fresh
// credentials that expire after the requested duration (1h when none).
type Recorder struct {
	mu      sync.Mutex
	calls   []sts.AssumeRoleInput
	signers []string // access keys that signed HTTP calls (http.go)
	err     error
}

// New returns an empty Recorder.
func New() *Recorder { return &Recorder{} }

// FailWith makes later calls fail with err (nil: succeed again).
func (r *Recorder) FailWith(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// AssumeRole records the input and answers.
func (r *Recorder) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, copyInput(in))
	if r.err != nil {
		return nil, r.err
	}
	d := time.Hour
	if in.DurationSeconds != nil {
		d = time.Duration(*in.DurationSeconds) * time.Second
	}
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId:     aws.String("ASIA" + randomHex(8)),
		SecretAccessKey: aws.String(randomHex(20)),
		SessionToken:    aws.String("session-" + randomHex(32)),
		Expiration:      aws.Time(time.Now().Add(d).UTC()),
	}}, nil
}

// Calls returns copies of the recorded inputs, oldest first.
func (r *Recorder) Calls() []sts.AssumeRoleInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sts.AssumeRoleInput(nil), r.calls...)
}

// Last returns the last recorded input and whether there was one.
func (r *Recorder) Last() (sts.AssumeRoleInput, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		return sts.AssumeRoleInput{}, false
	}
	return r.calls[len(r.calls)-1], true
}

func copyInput(in *sts.AssumeRoleInput) sts.AssumeRoleInput {
	if in == nil {
		return sts.AssumeRoleInput{}
	}
	c := *in
	c.PolicyArns = append(c.PolicyArns[:0:0], in.PolicyArns...)
	c.Tags = append(c.Tags[:0:0], in.Tags...)
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
