package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func clearClientEnv(t *testing.T) {
	for _, k := range []string{"GATEHOUSE_ADDR", "GATEHOUSE_TOKEN", "GATEHOUSE_CONFIG", "XDG_CONFIG_HOME"} {
		t.Setenv(k, "")
	}
}

func TestConfigFileMode(t *testing.T) {
	clearClientEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "nested", "gatehouse", "config.yaml")
	t.Setenv("GATEHOUSE_CONFIG", path)
	got, err := saveLogin("http://gh.example:8080/", "gth_secret", "refresh")
	require.NoError(t, err)
	require.Equal(t, path, got)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	st, err = os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	cfg, err := loadConfig(path)
	require.NoError(t, err)
	require.Equal(t, cliConfig{Addr: "http://gh.example:8080", Token: "gth_secret", RefreshToken: "refresh"}, cfg)

	// A file made readable by others is tightened again when rewritten.
	require.NoError(t, os.Chmod(path, 0o644))
	_, err = saveLogin("http://gh.example:8080", "gth_other", "")
	require.NoError(t, err)
	st, err = os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

func TestConfigPath(t *testing.T) {
	clearClientEnv(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	p, err := configPath()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(home, ".config", "gatehouse", "config.yaml"), p)
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	p, _ = configPath()
	require.Equal(t, "/xdg/gatehouse/config.yaml", p)
	t.Setenv("GATEHOUSE_CONFIG", "/explicit.yaml")
	p, _ = configPath()
	require.Equal(t, "/explicit.yaml", p)
}

// Address and token: flag, then GATEHOUSE_ADDR/GATEHOUSE_TOKEN (T5), then the file.
func TestClientPrecedence(t *testing.T) {
	clearClientEnv(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	t.Setenv("GATEHOUSE_CONFIG", path)
	resolve := func(f clientFlags) (string, string) {
		addr, token, err := f.endpoint()
		require.NoError(t, err)
		return addr, token
	}

	addr, token := resolve(clientFlags{})
	require.Equal(t, defaultAddr, addr, "no file: the default address")
	require.Empty(t, token)

	require.NoError(t, saveConfig(path, cliConfig{Addr: "http://file:1", Token: "file-token"}))
	addr, token = resolve(clientFlags{})
	require.Equal(t, "http://file:1", addr)
	require.Equal(t, "file-token", token)

	t.Setenv("GATEHOUSE_TOKEN", "env-token")
	addr, token = resolve(clientFlags{})
	require.Equal(t, "http://file:1", addr)
	require.Equal(t, "env-token", token, "env beats file")

	t.Setenv("GATEHOUSE_ADDR", "http://env:2/")
	addr, token = resolve(clientFlags{})
	require.Equal(t, "http://env:2", addr, "env beats file")
	require.Equal(t, "env-token", token)

	addr, token = resolve(clientFlags{addr: "http://flag:3", token: "flag-token"})
	require.Equal(t, "http://flag:3", addr, "flag beats env")
	require.Equal(t, "flag-token", token, "flag beats env")

	// The file's token only goes to the file's address.
	t.Setenv("GATEHOUSE_TOKEN", "")
	addr, token = resolve(clientFlags{})
	require.Equal(t, "http://env:2", addr)
	require.Empty(t, token, "a saved token is never sent to another server")
	_, token = resolve(clientFlags{addr: "http://file:1/"})
	require.Equal(t, "file-token", token, "same server named by flag")

	require.NoError(t, os.WriteFile(path, []byte("addr: [not, a, string]\n"), 0o600))
	_, _, err := (&clientFlags{}).endpoint()
	require.ErrorContains(t, err, path)
}
