// Package schema owns Gatehouse's SpiceDB policy: the schema (gatehouse.zed, embedded as
// Text), its validation files (testdata/*.yaml, run by go test and by CI), and the names of
// resource types, relations and permissions the rest of the code uses, as constants, so a
// typo is a compile error rather than a silent "denied". Types, Relations (with their
// subject types), PublicPermissions and InternalPermissions are checked against the zed,
// both ways, by names_test; TestSchemaMutants kills every one-step mutant of the zed with
// testdata/*.yaml and testdata/refused.txt (the subject types each relation must refuse).
//
// Type names are the API's (ID6): TypeServiceAccount is "sa", which SpiceDB stores as
// "serviceaccount" (StoredType maps one to the other).
package schema

import (
	_ "embed" // for go:embed
	"slices"
)

// Text is the schema source, gatehouse.zed, as written to SpiceDB.
//
//go:embed gatehouse.zed
var Text string

// Resource and subject types, as the API names them.
const (
	TypeUser           = "user"
	TypeRobot          = "robot"
	TypeServiceAccount = "sa" // stored as StoredTypeServiceAccount
	TypePipeline       = "pipeline"
	TypeTeam           = "team"
	TypeOrg            = "org"
	TypeRepo           = "repo"
	TypeBucket         = "bucket"
	TypePlatform       = "platform"

	// StoredTypeServiceAccount is the SpiceDB definition name of TypeServiceAccount.
	StoredTypeServiceAccount = "serviceaccount"
)

// PlatformID is the id of the single platform object, platform:root.
const PlatformID = "root"

// Relations: the facts the app writes.
const (
	RelAgent       = "agent"         // user|robot|serviceaccount -> pipeline it created (PL3)
	RelAdmin       = "admin"         // platform (P2) and org (O2) admins
	RelUnlocked    = "unlocked"      // platform wildcards while activated and not admin-only (P1, P4)
	RelOrg         = "org"           // team, serviceaccount, repo, pipeline, bucket -> owning org (O1)
	RelMember      = "member"        // org and team members (O2, O4)
	RelReposOpenTo = "repos_open_to" // org self-link: "members" repo-access mode (O2)
	RelPlatform    = "platform"      // org -> platform:root
	RelBucket      = "bucket"        // repo -> its bucket config (R4)
	RelReader      = "reader"        // repo roles (R1)
	RelWriter      = "writer"
	RelOwner       = "owner"
	RelInputOf     = "input_of"  // repo -> pipeline reading it (PL1, PL3)
	RelOutputOf    = "output_of" // repo -> pipeline writing it (PL1, PL3)
	RelCreator     = "creator"   // pipeline -> its creator (PL2)
)

// Permissions: what checks ask.
const (
	PermSuperAdmin = "super_admin" // platform
	PermOpen       = "open"        // platform, org: activated and not admin-only
	PermManage     = "manage"      // platform, org, team, pipeline, bucket
	PermRead       = "read"        // org, team, repo, pipeline, bucket
	PermWrite      = "write"       // repo
	PermManageACL  = "manage_acl"  // repo
	PermDelete     = "delete"      // repo
	PermCreateRepo = "create_repo" // org

	// Effective repo roles, highest first (R2): the role of S on a repo is the first of
	// these that S holds.
	PermOwnerRole  = "owner_role"
	PermWriterRole = "writer_role"
	PermReaderRole = "reader_role"

	// Internal building blocks of the pipeline (PL3) and org-mode (O2) paths. They can be
	// checked, but the app has no reason to.
	PermAdminAgents      = "admin_agents"
	PermMemberRepoAccess = "member_repo_access"
	PermMemberRepoAgents = "member_repo_agents"
	PermMemberAgents     = "member_agents"
	PermWriterAgents     = "writer_agents"
	PermReaderAgents     = "reader_agents"
	PermAgent            = "agent" // team, org: their members' pipelines (a relation on user, robot, sa)

	// Building blocks of the gate-once shape (issue 8.10).
	PermGate          = "gate"           // platform, org: everyone while open, platform admins always (P4)
	PermRepoOwners    = "repo_owners"    // org: owners of every repo by org role, before the gate (R3)
	PermRepoWriters   = "repo_writers"   // org: writers of every repo by org role, before the gate (O2, R3)
	PermPipelineRead  = "pipeline_read"  // repo: the pipelines' side of read (PL3)
	PermPipelineWrite = "pipeline_write" // repo: the pipelines' side of write (PL3)

	// Shared building blocks of the pipeline paths (issue 8.10: one dispatch, fewer reads).
	PermWriterAgentsUngated = "writer_agents_ungated" // repo: writers' pipelines before the gate (PL3)
	PermRepoWriterAgents    = "repo_writer_agents"    // org: pipelines of its repos' writers by org role (PL3)
)

// Types is the one list of types of gatehouse.zed, by their API names, in schema order.
var Types = []string{
	TypeUser, TypeRobot, TypeServiceAccount, TypePlatform, TypeTeam, TypeOrg, TypeRepo, TypePipeline, TypeBucket,
}

// Subject types as Relations spells them: a type ("user"), a subject set ("team#member"),
// or a wildcard ("user:*").
const (
	SubjectTeamMembers = TypeTeam + "#" + RelMember // team:<org>/<team>#member
	SubjectOrgMembers  = TypeOrg + "#" + RelMember  // org:<org>#member
)

// Wildcard spells the wildcard subject type of typ ("user:*").
func Wildcard(typ string) string { return typ + ":*" }

// RelationHolds reports whether relation on resourceType (API type names) holds subjects
// of subjectType, with subjectRelation ("" for none) or as a wildcard, as Relations says.
func RelationHolds(resourceType, relation, subjectType, subjectRelation string, wildcard bool) bool {
	return slices.Contains(Relations[resourceType][relation], SubjectKind(subjectType, subjectRelation, wildcard))
}

// SubjectKind spells a kind of subject as Relations does: user, team#member, user:*.
func SubjectKind(subjectType, subjectRelation string, wildcard bool) string {
	switch {
	case wildcard:
		return Wildcard(subjectType)
	case subjectRelation != "":
		return subjectType + "#" + subjectRelation
	}
	return subjectType
}

// principals are the subject types a grant names.
var principals = []string{TypeUser, TypeRobot, TypeServiceAccount}

// Relations lists, per type, every relation of gatehouse.zed and the subject types it
// allows (schema_test proves the two agree, both ways). testdata/refused.txt lists what
// each relation must refuse.
var Relations = map[string]map[string][]string{
	TypeUser:           {RelAgent: {TypePipeline}},
	TypeRobot:          {RelAgent: {TypePipeline}},
	TypeServiceAccount: {RelOrg: {TypeOrg}, RelAgent: {TypePipeline}},
	TypePlatform: {
		RelAdmin:    {TypeUser, TypeRobot},
		RelUnlocked: {Wildcard(TypeUser), Wildcard(TypeRobot), Wildcard(TypeServiceAccount), Wildcard(TypePipeline)},
	},
	TypeTeam: {RelOrg: {TypeOrg}, RelMember: append(slices.Clone(principals), SubjectTeamMembers)},
	TypeOrg: {
		RelPlatform:    {TypePlatform},
		RelAdmin:       append(slices.Clone(principals), SubjectTeamMembers),
		RelMember:      append(slices.Clone(principals), SubjectTeamMembers),
		RelReposOpenTo: {TypeOrg},
	},
	TypeRepo: {
		RelOrg:      {TypeOrg},
		RelBucket:   {TypeBucket},
		RelReader:   append(slices.Clone(principals), SubjectTeamMembers, SubjectOrgMembers),
		RelWriter:   append(slices.Clone(principals), SubjectTeamMembers, SubjectOrgMembers),
		RelOwner:    append(slices.Clone(principals), SubjectTeamMembers, SubjectOrgMembers),
		RelInputOf:  {TypePipeline},
		RelOutputOf: {TypePipeline},
	},
	TypePipeline: {RelOrg: {TypeOrg}, RelCreator: slices.Clone(principals)},
	TypeBucket:   {RelOrg: {TypeOrg}},
}

// PublicPermissions are, per type, the permissions an API caller may name in a check or a
// lookup: the questions the API answers. Every other permission is in InternalPermissions,
// and relations are facts, not questions; the authorization layer refuses both in callers'
// checks and lookups. schema_test proves every permission of gatehouse.zed is in exactly
// one of the two.
var PublicPermissions = map[string][]string{
	TypePlatform: {PermSuperAdmin, PermManage},
	TypeTeam:     {PermManage, PermRead},
	TypeOrg:      {PermManage, PermRead, PermCreateRepo},
	TypeRepo:     {PermRead, PermWrite, PermManageACL, PermDelete},
	TypePipeline: {PermManage, PermRead},
	TypeBucket:   {PermManage, PermRead},
}

// InternalPermissions are, per type, the building blocks of the public permissions: the
// open gates (P1, P4), the effective repo roles the app reads for R2 (PermOwnerRole and
// friends, through its own code), members-mode access (O2) and the pipeline paths (PL3).
// The app may check them; API callers may not.
var InternalPermissions = map[string][]string{
	TypePlatform: {PermOpen, PermGate, PermAdminAgents},
	TypeTeam:     {PermAgent},
	TypeOrg: {
		PermOpen, PermGate, PermMemberRepoAccess, PermRepoOwners, PermRepoWriters,
		PermAgent, PermAdminAgents, PermMemberRepoAgents, PermMemberAgents, PermRepoWriterAgents,
	},
	TypeRepo: {
		PermOwnerRole, PermWriterRole, PermReaderRole,
		PermWriterAgentsUngated, PermWriterAgents, PermReaderAgents,
		PermPipelineRead, PermPipelineWrite,
	},
}

// SubjectPermission returns the permission that answers a check or a lookup of permission
// on resourceType for subjects of subjectType (API type names) with the fewest datastore
// reads, and the same answer: on a repo, read and write are reader_role and writer_role
// for every subject but a pipeline (their pipeline side holds only pipelines), and
// pipeline_read and pipeline_write for a pipeline (no role can name a pipeline). Any
// other permission is returned unchanged. schema_test proves the answers equal.
func SubjectPermission(resourceType, permission, subjectType string) string {
	if resourceType != TypeRepo {
		return permission
	}
	pipeline := subjectType == TypePipeline
	switch {
	case permission == PermRead && pipeline:
		return PermPipelineRead
	case permission == PermRead:
		return PermReaderRole
	case permission == PermWrite && pipeline:
		return PermPipelineWrite
	case permission == PermWrite:
		return PermWriterRole
	}
	return permission
}

// IsPublicPermission reports whether an API caller may name permission on typ (an API type
// name) in a check or a lookup.
func IsPublicPermission(typ, permission string) bool {
	return slices.Contains(PublicPermissions[typ], permission)
}

// Roles are the repo roles, lowest first (R1), and RoleNone removes a role (R2).
var Roles = []string{RelReader, RelWriter, RelOwner}

// RoleNone is the role name that removes a subject's role on a repo (R2).
const RoleNone = "none"

// Permissions lists, per API type, every relation and permission of gatehouse.zed, public
// and internal: every name SpiceDB can answer a check on. It is built from Relations,
// PublicPermissions and InternalPermissions.
var Permissions = allNames()

func allNames() map[string][]string {
	out := map[string][]string{}
	for _, typ := range Types {
		names := []string{}
		for rel := range Relations[typ] {
			names = append(names, rel)
		}
		slices.Sort(names)
		names = append(names, PublicPermissions[typ]...)
		out[typ] = append(names, InternalPermissions[typ]...)
	}
	return out
}

// HasPermission reports whether typ (an API type name) declares name as a permission or
// relation.
func HasPermission(typ, name string) bool {
	return slices.Contains(Permissions[typ], name)
}

// StoredType maps an API type name to its SpiceDB definition name ("sa" ->
// "serviceaccount"); other names are unchanged.
func StoredType(apiType string) string {
	if apiType == TypeServiceAccount {
		return StoredTypeServiceAccount
	}
	return apiType
}

// APIType maps a SpiceDB definition name to its API type name ("serviceaccount" -> "sa");
// other names are unchanged.
func APIType(storedType string) string {
	if storedType == StoredTypeServiceAccount {
		return TypeServiceAccount
	}
	return storedType
}

// ResourceTypes returns the API type names of every definition (Types), sorted.
func ResourceTypes() []string {
	out := slices.Clone(Types)
	slices.Sort(out)
	return out
}

// SubjectHolders are the types with relations that name people, robots, service accounts,
// teams or orgs as their subjects: where to look for every grant to one of them
// (schema_test derives it from Relations).
var SubjectHolders = []string{TypePlatform, TypeOrg, TypeTeam, TypeRepo, TypePipeline}
