// Package info holds the minimal Pulumi ProviderInfo for the bridged
// Terraform "random" provider. It is shared by the plugin (../main.go) and the
// build-time schema generator (../tfgen), so the schema always matches the
// runtime mapping.
package info

import (
	"context"
	"fmt"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	// Package created by ../build inside a copy of the upstream module, so
	// that it may import the upstream's internal/provider package.
	upstream "github.com/terraform-providers/terraform-provider-random/pulumishim"
)

// Version is overridden at link time (-X) by ../build. It must equal the
// version of the pinned pulumi_random Python SDK so the engine selects this
// plugin.
var Version = "4.21.4"

// Provider returns the ProviderInfo. metadata is the bridge-metadata.json
// produced by tfgen (nil while generating it).
func Provider(metadata []byte) tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(upstream.New()),
		Name:         "random",
		Description:  "Randomness for Pulumi programs (locally bridged terraform-provider-random).",
		License:      "Apache-2.0",
		Version:      Version,
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources: map[string]*tfbridge.ResourceInfo{
			// random_bytes has no "id" attribute; use the base64 result.
			"random_bytes": {ComputeID: idFromBase64},
		},
		Python:                      &tfbridge.PythonInfo{RespectSchemaVersion: true},
		EnableAccurateBridgePreview: true,
	}
	// random_<name> -> random:index/random<Name>:Random<Name>
	prov.MustComputeTokens(tokens.SingleModule("random_", "index",
		func(module, name string) (string, error) {
			return tokens.MakeStandard("random")(module, "Random"+name)
		}))
	return prov
}

func idFromBase64(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	v, ok := state["base64"]
	if !ok {
		return "", fmt.Errorf("random_bytes: state has no base64 property")
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsString() {
		return "", fmt.Errorf("random_bytes: base64 is not a string")
	}
	return resource.ID(v.StringValue()), nil
}
