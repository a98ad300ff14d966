"""Named, independent random streams derived from one root seed.

Each stochastic component asks for its own stream by name. The stream's seed is
``SeedSequence(root_seed, spawn_key=(stable hash of the name,))``, so adding a component
never shifts the draws of another, and scenario variants run with the same root seed share
common random numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_name_key(name: str) -> tuple[int, ...]:
    """Map a stream name to a spawn key that is stable across processes and versions.

    Python's ``hash`` is salted per process, so a cryptographic digest is used instead.
    """
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class RandomStreams:
    """Factory of named ``numpy.random.Generator`` streams for one run.

    Parameters
    ----------
    root_seed
        The run's seed (a non-negative integer).
    """

    def __init__(self, root_seed: int) -> None:
        if root_seed < 0:
            raise ValueError(f"seed must be >= 0 (got {root_seed})")
        self.root_seed = int(root_seed)
        self._streams: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """Return the stream called ``name``, creating it on first use."""
        stream = self._streams.get(name)
        if stream is None:
            seq = np.random.SeedSequence(self.root_seed, spawn_key=stable_name_key(name))
            stream = np.random.Generator(np.random.PCG64(seq))
            self._streams[name] = stream
        return stream

    @property
    def names(self) -> list[str]:
        """Names of the streams used so far, sorted."""
        return sorted(self._streams)
