// Command tfgen generates schema.json and bridge-metadata.json for the plugin
// at build time (see ../build), run as `tfgen schema --out DIR` from the build
// directory, which holds the upstream module copy in ./_upstream.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"platform/tools/engine/random/info"
)

func main() {
	prov := info.Provider(nil)
	prov.UpstreamRepoPath = "./_upstream" // docs/ of the upstream copy
	tfgen.Main("random", prov)
}
