// Command pulumi-resource-postgresql is a small resource provider plugin that speaks the
// pulumi-postgresql (v3.18.2) schema: same tokens and property names, so the unmodified
// pulumi_postgresql Python SDK drives it. It exists because the real provider (a Terraform
// bridge) cannot be built from the package registries this project can reach.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Version is the pulumi-postgresql version whose schema this plugin implements; the Python SDK
// asks the engine for exactly this plugin version. Overridable with -ldflags "-X main.Version=...".
var Version = "3.18.2"

func main() {
	err := provider.Main("postgresql", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newProvider(host), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-postgresql: %v\n", err)
		os.Exit(1)
	}
}
