"""The policy pack as the Pulumi CLI runs it (`pulumi preview --policy-pack policy`).

`PolicyPack` serves the analyzer over gRPC until the engine is done, so nothing else belongs
here: the policies and their enforcement live in `policy/pack.py`, where tests can import them.
"""

from __future__ import annotations

from pulumi_policy import PolicyPack

from policy.pack import pack_arguments

PolicyPack(**pack_arguments())
