// Package shim exposes the upstream provider's constructor, which lives in an internal package.
// The build copies the upstream module out of the module cache, puts this file at shim/shim.go in
// that copy, and points the replace directive at it (this directory is ignored by the go tool).
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the upstream SDKv2 provider (the framework-only resources are not bridged).
func NewProvider() *schema.Provider {
	return provider.New("pulumi")()
}
