"""Which shard (queue) of a task class gets a task."""

from __future__ import annotations

import hashlib
import random

_MASK64 = (1 << 64) - 1


def shard_for_key(key: str, shards: int) -> int:
    """A shard index in [0, shards) for `key`, the same in every process and on every machine.

    Python's `hash()` is salted per process, so the key is hashed with BLAKE2b, then mapped with
    jump consistent hashing (Lamping and Veach, 2014): when a shard is appended, only ~1/N of the
    keys move, all of them to the new shard, so related tasks mostly keep sharing a queue.
    """
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    state = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    bucket, candidate = -1, 0
    while candidate < shards:
        bucket = candidate
        state = (state * 2862933555777941757 + 1) & _MASK64
        candidate = int((bucket + 1) * ((1 << 31) / ((state >> 33) + 1)))
    return bucket


def random_shard(shards: int, rng: random.Random) -> int:
    return rng.randrange(shards)
