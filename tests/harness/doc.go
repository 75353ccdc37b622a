// Package harness provides real components for end-to-end tests: a throwaway
// PostgreSQL cluster, a real SpiceDB server, the Gatehouse binary itself, MinIO and
// nginx.
//
// Everything started here is torn down by t.Cleanup, except the PostgreSQL
// cluster, which is shared by all tests of one test binary (each StartPostgres
// call gets a fresh database on it). Stop the cluster from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		harness.Cleanup()
//		os.Exit(code)
//	}
//
// Forgetting Cleanup does not leak a server: the cluster is started with a
// parent-death signal, and directories left behind by dead test processes are
// removed the next time the harness starts something.
//
// Environment:
//   - GATEHOUSE_SKIP_POSTGRES=1: skip (loudly, counted by Cleanup) the tests that
//     need PostgreSQL when its binaries are missing; without it they fail.
//   - GATEHOUSE_PG_BIN: directory holding initdb and postgres (optional).
//   - GATEHOUSE_SKIP_NGINX=1: skip (loudly, counted by Cleanup) the tests that need
//     nginx when it is missing; without it they fail.
//   - GATEHOUSE_NGINX_BIN: an nginx binary with auth_request (optional; default: nginx
//     on PATH, then /usr/sbin/nginx, where Debian's nginx-light puts it).
//   - GATEHOUSE_SPICEDB_BIN: a prebuilt spicedb binary to use instead of
//     building the version pinned in go.mod (optional).
package harness
