// Command tfgen writes the provider's Pulumi schema (and bridge metadata) at build time:
// `tfgen schema --out DIR --skip-docs --skip-examples`.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"platform/tools/engine/docker/info"
)

func main() {
	tfgen.Main("docker", info.Version, info.Provider(nil))
}
