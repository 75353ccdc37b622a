// Package credentials owns bucket locations and credential vending (MISSION B1, B5, B6,
// B7): it parses and validates bucket URIs (platform://bucket[/prefix]), decides whether two
// locations overlap, builds the session, permission and trust policies as data (marshalled
// JSON, never concatenated strings), and vends temporary credentials scoped to one prefix
// through STS AssumeRole behind the one-method AssumeRoler interface.
//
// It decides nothing about who may ask: callers (authz) check the caller's access to the
// repo first and pass the repo's location, the bucket config's auth and the access asked
// for. What cannot be scoped is refused with the reason; long-lived keys are never handed
// out.
//
// Every name that reaches a policy went through this package's validation first: bucket
// names follow S3's (or Google Cloud Storage's) rules and prefixes are made of a small
// character set without any policy metacharacter (*, ?, $, {, }), so a crafted name can
// neither widen a session policy nor inject into it.
package credentials
