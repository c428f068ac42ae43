"""The policy pack Pulumi runs: `pulumi preview --policy-pack policy`.

The CLI starts this as `python <pack dir>` (no parent package), so the sibling module is imported
top-level then; `python -m policy` from the repo root takes the relative import. Tests never import
this file: PolicyPack() starts a gRPC server and blocks.
"""

from pulumi_policy import PolicyPack

if __package__:
    from .pack import DESCRIPTION, PACK_NAME, build_policies
else:
    from pack import DESCRIPTION, PACK_NAME, build_policies

PolicyPack(name=PACK_NAME, policies=build_policies(), description=DESCRIPTION)
