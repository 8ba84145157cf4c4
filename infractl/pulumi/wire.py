"""The values Pulumi writes in its JSON outputs and state, defined once for every tool.

Sources: `sdk/go/common/resource/sig` (the signature key and values), `plugin.UnknownStringValue`
(the value of an output unknown until deploy) and `pkg/display/json.go` (how previews blind a
secret). See `../shared/reference/pulumi-outputs.md`.
"""

from __future__ import annotations

SIG_KEY = "4dabf18193072939515e22adb298388d"
"""Key of a special object: a secret, a resource reference, an asset or an archive."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""What an output unknown until deploy holds in a preview or under the mock runtime."""
SECRET_TEXT = "[secret]"
"""How the CLI prints a secret value, and how every infractl output shows one."""
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
URN_PREFIX = "urn:pulumi:"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"
