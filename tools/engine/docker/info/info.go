// Package info maps the Terraform docker provider onto the tokens and property names of the
// pinned Python SDK (pulumi_docker 5.2.0): docker:index/<camel>:<Pascal>.
package info

import (
	"context"
	"unicode"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	tfbridgetokens "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Version is set at build time (-ldflags -X); the engine matches it against the SDK's 5.2.0.
var Version = "5.2.0"

const (
	pkg = "docker"
	mod = "index"
)

func resource(name string) tokens.Type { return tokens.Type(member(name)) }

func member(name string) string {
	file := string(unicode.ToLower(rune(name[0]))) + name[1:]
	return pkg + ":" + mod + "/" + file + ":" + name
}

// Provider is the bridge mapping. metadata is bridge-metadata.json as tfgen wrote it (nil: none).
func Provider(metadata []byte) tfbridge.ProviderInfo {
	if metadata == nil {
		metadata = []byte("{}")
	}
	prov := tfbridge.ProviderInfo{
		P:            shimv2.NewProvider(shim.NewProvider()),
		Name:         pkg,
		Version:      Version,
		Description:  "Docker (platform build of the bridged Terraform provider)",
		License:      "Apache-2.0",
		GitHubOrg:    "kreuzwerker",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Config: map[string]*tfbridge.SchemaInfo{
			// docker:host, else DOCKER_HOST, else the local socket (so no config is required).
			"host": {Default: &tfbridge.DefaultInfo{
				EnvVars: []string{"DOCKER_HOST"},
				ComputeDefault: func(context.Context, tfbridge.ComputeDefaultOptions) (interface{}, error) {
					return "unix:///var/run/docker.sock", nil
				},
			}},
			"registry_auth": {
				Name:        "registryAuth",
				MaxItemsOne: tfbridge.False(),
			},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": {
				Tok:                 resource("Container"),
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image": {
				Tok:    resource("RemoteImage"),
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
			"docker_network": {Tok: resource("Network")},
			"docker_volume":  {Tok: resource("Volume")},
			"docker_config":  {Tok: resource("ServiceConfig")},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: tokens.ModuleMember(member("getRemoteImage"))},
		},
	}
	// Everything else upstream has (secret, service, plugin, tag, ...) by the standard rule.
	prov.MustComputeTokens(tfbridgetokens.SingleModule("docker_", mod, tfbridgetokens.MakeStandard(pkg)))
	prov.SetAutonaming(255, "-")
	return prov
}
