// Package schema owns Gatehouse's SpiceDB policy: the schema (gatehouse.zed, embedded as
// Text), its validation files (testdata/*.yaml, run by go test and by CI), and the names of
// resource types, relations and permissions the rest of the code uses, as constants, so a
// typo is a compile error rather than a silent "denied".
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
	PermOwnerAgents      = "owner_agents"
	PermWriterAgents     = "writer_agents"
	PermReaderAgents     = "reader_agents"
)

// Roles are the repo roles, lowest first (R1), and RoleNone removes a role (R2).
var Roles = []string{RelReader, RelWriter, RelOwner}

// RoleNone is the role name that removes a subject's role on a repo (R2).
const RoleNone = "none"

// Permissions lists, per API type, every permission and relation a check may name, as
// declared in gatehouse.zed (schema_test proves the two agree).
var Permissions = map[string][]string{
	TypeUser:           {RelAgent},
	TypeRobot:          {RelAgent},
	TypeServiceAccount: {RelOrg, RelAgent},
	TypePlatform:       {RelAdmin, RelUnlocked, PermSuperAdmin, PermOpen, PermManage, PermAdminAgents},
	TypeTeam:           {RelOrg, RelMember, RelAgent, PermManage, PermRead},
	TypeOrg: {
		RelPlatform, RelAdmin, RelMember, RelReposOpenTo,
		PermOpen, PermManage, PermRead, PermCreateRepo, PermMemberRepoAccess,
		RelAgent, PermAdminAgents, PermMemberRepoAgents, PermMemberAgents,
	},
	TypeRepo: {
		RelOrg, RelBucket, RelReader, RelWriter, RelOwner, RelInputOf, RelOutputOf,
		PermOwnerRole, PermWriterRole, PermReaderRole,
		PermOwnerAgents, PermWriterAgents, PermReaderAgents,
		PermRead, PermWrite, PermManageACL, PermDelete,
	},
	TypePipeline: {RelOrg, RelCreator, PermManage, PermRead},
	TypeBucket:   {RelOrg, PermManage, PermRead},
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

// ResourceTypes returns the API type names of every definition, sorted.
func ResourceTypes() []string {
	out := make([]string, 0, len(Permissions))
	for t := range Permissions {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// SubjectHolders are the types with relations that name people, robots, service accounts,
// teams or orgs as their subjects: where to look for every grant to one of them.
var SubjectHolders = []string{TypePlatform, TypeOrg, TypeTeam, TypeRepo, TypePipeline}
