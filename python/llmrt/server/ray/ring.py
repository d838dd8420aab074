"""A consistent-hash ring over replica ids: a key maps to the same replica for as long as that
replica lives, and when replicas come or go only the keys of the changed ones move."""

from __future__ import annotations

import bisect
import hashlib

# Points per replica on the ring: enough that a handful of replicas split keys within a few
# percent of evenly, few enough that rebuilding on every replica change costs nothing.
VIRTUAL_NODES = 64


def hash64(text: str) -> int:
    # blake2b rather than hash(): Python salts str hashes per process, and every router (one per
    # ingress replica) must map a key to the same replica.
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


class HashRing:
    def __init__(self, members=(), virtual_nodes: int = VIRTUAL_NODES):
        self.virtual_nodes = virtual_nodes
        self.members: frozenset = frozenset()
        self._points: list[int] = []
        self._owners: list[str] = []
        self.update(members)

    def update(self, members) -> None:
        members = frozenset(members)
        if members == self.members:
            return
        points = sorted((hash64(f"{m}#{i}"), m) for m in members for i in range(self.virtual_nodes))
        self.members = members
        self._points = [p for p, _ in points]
        self._owners = [m for _, m in points]

    def order(self, key: str) -> list[str]:
        """Every member, starting with the key's owner and going clockwise round the ring."""
        if not self._points:
            return []
        start = bisect.bisect(self._points, hash64(key)) % len(self._points)
        seen: list[str] = []
        for i in range(len(self._points)):
            owner = self._owners[(start + i) % len(self._points)]
            if owner not in seen:
                seen.append(owner)
                if len(seen) == len(self.members):
                    break
        return seen

    def owner(self, key: str) -> str | None:
        order = self.order(key)
        return order[0] if order else None
