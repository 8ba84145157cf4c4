// Command pulumi-resource-docker is the docker resource plugin for the pinned pulumi_docker SDK,
// bridged from the Terraform provider. schema.json and bridge-metadata.json are written next to
// this file by the build (tfgen from the same mapping); they are not committed.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"platform/tools/engine/docker/info"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	tfbridge.Main("docker", info.Version, info.Provider(metadata), schema)
}
