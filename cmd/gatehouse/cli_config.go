package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// cliConfig is the client's config file: where Gatehouse is and the token to use there.
// It lives at $GATEHOUSE_CONFIG, else $XDG_CONFIG_HOME/gatehouse/config.yaml, else
// ~/.config/gatehouse/config.yaml, and is written with mode 0600 in a 0700 directory.
type cliConfig struct {
	Addr         string `yaml:"addr,omitempty"`
	Token        string `yaml:"token,omitempty"`
	RefreshToken string `yaml:"refresh_token,omitempty"`
}

// configPath returns where the config file is (whether or not it exists).
func configPath() (string, error) {
	if p := os.Getenv("GATEHOUSE_CONFIG"); p != "" {
		return p, nil
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the config file: set GATEHOUSE_CONFIG or HOME: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "gatehouse", "config.yaml"), nil
}

// loadConfig reads the config file; a missing file is an empty config.
func loadConfig(path string) (cliConfig, error) {
	var cfg cliConfig
	b, err := os.ReadFile(path) //nolint:gosec // G304: the user's own config file
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("config file %s: %w", path, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return cfg, nil
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("config file %s: %w", path, err)
	}
	return cfg, nil
}

// saveConfig writes the config file atomically with mode 0600 (its directory 0700).
func saveConfig(path string, cfg cliConfig) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config directory %s: %w", dir, err)
	}
	b, err := yaml.Marshal(cfg) //nolint:gosec // G117: the file holds the user's token, mode 0600, like kubeconfig
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// saveLogin records addr and token (and a refresh token, if any) in the config file and
// returns its path.
func saveLogin(addr, token, refresh string) (string, error) {
	path, err := configPath()
	if err != nil {
		return "", err
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return "", err
	}
	cfg.Addr, cfg.Token, cfg.RefreshToken = strings.TrimRight(addr, "/"), token, refresh
	return path, saveConfig(path, cfg)
}

// table writes aligned columns for people (text/tabwriter, like kubectl and pachctl).
type table struct{ w *tabwriter.Writer }

func newTable(out io.Writer, headers ...string) *table {
	t := &table{w: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
	fmt.Fprintln(t.w, strings.Join(headers, "\t"))
	return t
}

func (t *table) row(cols ...any) {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = fmt.Sprint(c)
		if s[i] == "" {
			s[i] = "-"
		}
	}
	fmt.Fprintln(t.w, strings.Join(s, "\t"))
}

func (t *table) flush() { _ = t.w.Flush() }
