// Command pulumi-resource-random is a locally built Pulumi resource plugin for
// the "random" package: terraform-provider-random bridged through the
// Plugin Framework support of pulumi-terraform-bridge. Build it with ./build.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"platform/tools/engine/random/info"
)

// Set by a go:embed file that ./build generates from the tfgen output.
var schemaJSON, metadataJSON []byte

func fail(msg string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-resource-random: "+msg+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(schemaJSON) == 0 || len(metadataJSON) == 0 {
		fail("built without schema; use tools/engine/random/build")
	}
	// tfgen leaves the package version out; stamp the plugin's own version.
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(schemaJSON, &spec); err != nil {
		fail("bad embedded schema: %v", err)
	}
	spec["version"], _ = json.Marshal(info.Version)
	schema, err := json.Marshal(spec)
	if err != nil {
		fail("cannot encode schema: %v", err)
	}
	pf.Main(context.Background(), "random", info.Provider(metadataJSON),
		pf.ProviderMetadata{PackageSchema: schema})
}
