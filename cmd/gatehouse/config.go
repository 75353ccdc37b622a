package main

import (
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/app"
)

// loadServeConfig completes cfg, whose flags are bound to cmd, from the environment and
// the YAML file at configPath, and validates it. The settings live in app.Config.
func loadServeConfig(cmd *cobra.Command, cfg *app.Config, configPath string) error {
	if err := app.ApplyEnvAndFile(cmd.Flags(), configPath); err != nil {
		return err
	}
	return cfg.Validate()
}
