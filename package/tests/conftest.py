"""The package's tests share a process with the producer's (pytest -n 2)."""

import sys

import pulumi.runtime.proto

# pulumi.provider (the component host) loads Pulumi's copy of google.rpc.Status; the producer's
# tests load googleapis-common-protos' (google-cloud-tasks). Protobuf refuses one message defined
# by two files in one process ("duplicate symbol 'google.rpc.Status'"). They are the same message
# (code, message, details): the host may use the one loaded. Only tests load both; the plugin
# process never imports google-cloud-tasks.
try:
    from google.rpc import status_pb2
except ImportError:  # googleapis-common-protos absent: nothing to share
    pass
else:
    sys.modules.setdefault("pulumi.runtime.proto.status_pb2", status_pb2)
    pulumi.runtime.proto.status_pb2 = status_pb2  # type: ignore[attr-defined]
