package main

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/app"
)

func registerServeCmd(root *cobra.Command) {
	cfg := app.DefaultConfig()
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Gatehouse server",
		Long: `Run the Gatehouse server. With no configuration everything runs in this process on an
in-memory store that is lost on exit. Every flag can also be set as GATEHOUSE_<FLAG>
(e.g. GATEHOUSE_HTTP_ADDR) or as a key of the YAML --config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := loadServeConfig(cmd, &cfg, configPath); err != nil {
				return err
			}
			cfg.Version, cfg.Stderr = version, cmd.ErrOrStderr()
			cfg.Logger = app.NewLogger(cfg.Stderr, cfg.LogLevel)
			slog.SetDefault(cfg.Logger)
			a, err := app.New(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Run(cmd.Context())
		},
	}
	cfg.BindFlags(cmd.Flags())
	cmd.Flags().StringVar(&configPath, app.ConfigFlag, "", "YAML file of settings (keys are flag names)")
	root.AddCommand(cmd)
}
