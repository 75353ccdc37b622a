package ststest

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// ServeHTTP answers AssumeRole in STS's query protocol (a form POST, an XML answer), so
// that a Gatehouse process configured with this server as its STS endpoint is recorded
// like an in-process caller. The access key that signed each request (from its SigV4
// Authorization header) is recorded too: see Signers. Other actions get 400.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.ParseForm() != nil || req.PostForm.Get("Action") != "AssumeRole" {
		writeXMLError(w, http.StatusBadRequest, "InvalidAction", "only AssumeRole is served here")
		return
	}
	f := req.PostForm
	in := &sts.AssumeRoleInput{RoleArn: opt(f.Get("RoleArn")), RoleSessionName: opt(f.Get("RoleSessionName")),
		Policy: opt(f.Get("Policy")), ExternalId: opt(f.Get("ExternalId"))}
	if d := f.Get("DurationSeconds"); d != "" {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil {
			writeXMLError(w, http.StatusBadRequest, "ValidationError", "DurationSeconds is not a number")
			return
		}
		in.DurationSeconds = aws.Int32(int32(n))
	}
	r.mu.Lock()
	r.signers = append(r.signers, signer(req.Header.Get("Authorization")))
	r.mu.Unlock()
	out, err := r.AssumeRole(context.WithoutCancel(req.Context()), in)
	if err != nil {
		code := "InternalFailure"
		var ae smithy.APIError
		if errors.As(err, &ae) {
			code = ae.ErrorCode()
		}
		writeXMLError(w, http.StatusForbidden, code, err.Error())
		return
	}
	c := out.Credentials
	var resp assumeRoleResponse
	resp.Result.Credentials = xmlCredentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), Expiration: c.Expiration.UTC().Format(time.RFC3339)}
	resp.Result.AssumedRoleUser.Arn = aws.ToString(in.RoleArn) + "/" + aws.ToString(in.RoleSessionName)
	resp.Result.AssumedRoleUser.AssumedRoleID = "AROA" + randomHex(8) + ":" + aws.ToString(in.RoleSessionName)
	resp.Metadata.RequestID = randomHex(8)
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(resp)
}

// Signers returns the access key IDs that signed the HTTP calls, oldest first.
func (r *Recorder) Signers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.signers...)
}

// signer extracts the access key ID of a SigV4 Authorization header ("" if none).
func signer(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(rest, "/")
	return key
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result  struct {
		Credentials     xmlCredentials `xml:"Credentials"`
		AssumedRoleUser struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
	} `xml:"AssumeRoleResult"`
	Metadata struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
}

type xmlError struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func writeXMLError(w http.ResponseWriter, status int, code, msg string) {
	var e xmlError
	e.Error.Type, e.Error.Code, e.Error.Message, e.RequestID = "Sender", code, msg, randomHex(8)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(e)
}
