// Package client is Gatehouse's HTTP API seen from outside: the exported request and
// response types of every route (their JSON shapes are the API's, field for field) and a
// typed Go client with one method per route.
//
// The client takes its token from WithToken or, failing that, GATEHOUSE_TOKEN (T5). It
// retries idempotent calls (GET, PUT, DELETE, and the POSTs that change nothing: checks,
// lookups, explain, schema validation) on connection errors, 429 (honouring Retry-After)
// and 502/503/504, with exponential backoff and full jitter. It never retries token
// minting, activation, logins or anything else that is not safe to repeat. Refusals come
// back as *Error, carrying the HTTP status and the API's code, message, field and details:
//
//	c := client.New("http://127.0.0.1:8080")
//	res, err := c.Check(ctx, client.CheckRequest{Resource: "repo:acme/raw", Permission: "read"})
//	var ae *client.Error
//	if errors.As(err, &ae) && ae.Code == "not_activated" { ... }
//
// The package imports only the standard library, so data services can embed it cheaply.
package client
