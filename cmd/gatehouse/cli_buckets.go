package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/client"
)

func bucketTable(cmd *cobra.Command, list ...client.Bucket) {
	t := newTable(cmd.OutOrStdout(), "ORG", "NICKNAME", "URI", "AUTH", "ENDPOINT", "REGION", "DEFAULT")
	for _, b := range list {
		t.row(b.Org, b.Nickname, b.URI, b.Auth.Type, b.ExtraConfig.EndpointURL, b.ExtraConfig.Region, b.Default)
	}
	t.flush()
}

// bucketFlags are the fields of a bucket config as flags. Secrets can come from standard
// input (--secret-stdin) rather than the command line, where other users may see them.
type bucketFlags struct {
	uri, platform, endpoint, region         string
	authType, accessKey, secretKey, roleARN string
	externalID, nickname                    string
	secretStdin, isDefault                  bool
}

func (b *bucketFlags) bind(fs *pflag.FlagSet, update bool) {
	fs.StringVar(&b.uri, "uri", "", "location: platform://bucket[/prefix] (platform s3, s3-compatible, gs or minio)")
	fs.StringVar(&b.platform, "platform", "", "platform; must agree with --uri's scheme")
	fs.StringVar(&b.endpoint, "endpoint-url", "", "the store's endpoint URL (http(s)://host[:port])")
	fs.StringVar(&b.region, "region", "", "region, e.g. us-east-1")
	fs.StringVar(&b.authType, "auth-type", "", "self_managed, hmac (--access-key-id, --secret-access-key) or aws_role (--role-arn, --external-id)")
	fs.StringVar(&b.accessKey, "access-key-id", "", "hmac: access key id")
	fs.StringVar(&b.secretKey, "secret-access-key", "", "hmac: secret access key (prefer --secret-stdin)")
	fs.StringVar(&b.roleARN, "role-arn", "", "aws_role: arn:aws:iam::<account>:role/<name>")
	fs.StringVar(&b.externalID, "external-id", "", "aws_role: external id (prefer --secret-stdin)")
	fs.BoolVar(&b.secretStdin, "secret-stdin", false, "read the secret access key or external id from the first line of standard input")
	fs.BoolVar(&b.isDefault, "default", false, "make it the org's default bucket config")
	if update {
		fs.StringVar(&b.nickname, "nickname", "", "new nickname (the only change allowed while repos use the config)")
	}
}

// auth returns the auth the flags give, reading the secret from stdin when asked.
func (b *bucketFlags) auth(cmd *cobra.Command) (client.BucketAuth, error) {
	a := client.BucketAuth{Type: b.authType, AccessKeyID: b.accessKey, SecretAccessKey: b.secretKey, RoleARN: b.roleARN, ExternalID: b.externalID}
	if err := oneOf("--auth-type", a.Type, "self_managed", "hmac", "aws_role"); err != nil {
		return a, err
	}
	if b.secretStdin {
		line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		secret := strings.TrimSpace(line)
		if secret == "" {
			return a, fmt.Errorf("--secret-stdin: no secret on standard input (%v)", err)
		}
		if a.Type == "aws_role" {
			a.ExternalID = secret
		} else {
			a.SecretAccessKey = secret
		}
	}
	return a, nil
}

// bucketArgs checks ORG NICKNAME.
func bucketArgs(args []string) (org, nickname string, err error) {
	if err := checkCLIName("org", args[0]); err != nil {
		return "", "", err
	}
	return args[0], args[1], checkCLIName("nickname", args[1])
}

func registerBucketCmd(root *cobra.Command, f *clientFlags) {
	bucket := &cobra.Command{Use: "bucket", Aliases: []string{"buckets"}, Short: "Manage an org's bucket configs (B1-B5, B7; org admins)"}
	bucket.AddCommand(newBucketCreateCmd(f), newBucketUpdateCmd(f),
		&cobra.Command{
			Use: "list ORG", Short: "List the org's bucket configs (no secrets)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := checkCLIName("org", args[0]); err != nil {
					return err
				}
				return show(cmd, f, func(c *client.Client) (client.BucketsResponse, error) { return c.Buckets(cmd.Context(), args[0]) },
					func(out client.BucketsResponse) { bucketTable(cmd, out.Buckets...) })
			},
		},
		&cobra.Command{
			Use: "get ORG NICKNAME", Short: "Show a bucket config (no secrets)", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				org, nick, err := bucketArgs(args)
				if err != nil {
					return err
				}
				return show(cmd, f, func(c *client.Client) (client.Bucket, error) { return c.Bucket(cmd.Context(), org, nick) },
					func(b client.Bucket) { bucketTable(cmd, b) })
			},
		},
		&cobra.Command{
			Use: "delete ORG NICKNAME", Short: "Delete an unused bucket config, for good (B4)", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				org, nick, err := bucketArgs(args)
				if err != nil {
					return err
				}
				return deleted(cmd, f, func(c *client.Client) (client.DeletedResponse, error) {
					return c.DeleteBucket(cmd.Context(), org, nick)
				})
			},
		},
		&cobra.Command{
			Use: "iam-policy ORG NICKNAME", Short: "Print the IAM permission and trust policies of an aws_role config (B7)", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				org, nick, err := bucketArgs(args)
				if err != nil {
					return err
				}
				return show(cmd, f, func(c *client.Client) (client.IAMPolicyResponse, error) {
					return c.BucketIAMPolicy(cmd.Context(), org, nick)
				},
					func(out client.IAMPolicyResponse) {
						for _, d := range []struct {
							title string
							doc   map[string]any
						}{{"Permission policy (attach to the role):", out.PermissionPolicy}, {"Trust policy (the role's trust relationship):", out.TrustPolicy}} {
							b, _ := json.MarshalIndent(d.doc, "", "  ")
							fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s\n", d.title, b)
						}
					})
			},
		},
	)
	root.AddCommand(bucket)
}

func newBucketCreateCmd(f *clientFlags) *cobra.Command {
	var b bucketFlags
	cmd := &cobra.Command{
		Use:   "create ORG NICKNAME --uri platform://bucket[/prefix] --auth-type TYPE",
		Short: "Create a bucket config (org admins, B1, B2)",
		Example: `  gatehouse bucket create acme prod --uri s3://acme-data/lake --region us-east-1 \
      --auth-type aws_role --role-arn arn:aws:iam::123456789012:role/data --secret-stdin <<<"$EXTERNAL_ID"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			org, nick, err := bucketArgs(args)
			if err != nil {
				return err
			}
			if b.uri == "" {
				return fmt.Errorf("--uri is required (platform://bucket[/prefix])")
			}
			auth, err := b.auth(cmd)
			if err != nil {
				return err
			}
			req := client.BucketRequest{Nickname: nick, URI: b.uri, Platform: b.platform, Auth: auth, Default: b.isDefault,
				ExtraConfig: client.BucketExtraConfig{EndpointURL: b.endpoint, Region: b.region}}
			return show(cmd, f, func(c *client.Client) (client.Bucket, error) { return c.CreateBucket(cmd.Context(), org, req) },
				func(out client.Bucket) { bucketTable(cmd, out) })
		},
	}
	b.bind(cmd.Flags(), false)
	return cmd
}

func newBucketUpdateCmd(f *clientFlags) *cobra.Command {
	var b bucketFlags
	cmd := &cobra.Command{
		Use:   "update ORG NICKNAME [flags]",
		Short: "Change a bucket config; while repos use it only --nickname (and --default) (B3)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			org, nick, err := bucketArgs(args)
			if err != nil {
				return err
			}
			p, err := b.patch(cmd)
			if err != nil {
				return err
			}
			return show(cmd, f, func(c *client.Client) (client.Bucket, error) { return c.UpdateBucket(cmd.Context(), org, nick, p) },
				func(out client.Bucket) { bucketTable(cmd, out) })
		},
	}
	b.bind(cmd.Flags(), true)
	return cmd
}

// patch turns the flags given on the command line into a patch; none is an error.
func (b *bucketFlags) patch(cmd *cobra.Command) (client.BucketPatch, error) {
	var p client.BucketPatch
	fs := cmd.Flags()
	str := func(name string, v string) *string {
		if fs.Changed(name) {
			return &v
		}
		return nil
	}
	p.Nickname, p.URI, p.Platform = str("nickname", b.nickname), str("uri", b.uri), str("platform", b.platform)
	if p.Nickname != nil {
		if err := checkCLIName("--nickname", *p.Nickname); err != nil {
			return p, err
		}
	}
	if e, r := str("endpoint-url", b.endpoint), str("region", b.region); e != nil || r != nil {
		p.ExtraConfig = &client.BucketExtraPatch{EndpointURL: e, Region: r}
	}
	if fs.Changed("default") {
		p.Default = &b.isDefault
	}
	if fs.Changed("auth-type") {
		a, err := b.auth(cmd)
		if err != nil {
			return p, err
		}
		p.Auth = &a
	} else if fs.Changed("access-key-id") || fs.Changed("secret-access-key") || fs.Changed("role-arn") || fs.Changed("external-id") || b.secretStdin {
		return p, fmt.Errorf("--auth-type is required to change the auth (it replaces the whole auth)")
	}
	if p == (client.BucketPatch{}) {
		return p, fmt.Errorf("nothing to change: give at least one of --nickname, --uri, --platform, --endpoint-url, --region, --auth-type, --default")
	}
	return p, nil
}
