"""Independent random streams, one per random source, derived by name from one seed.

Every source (the arrival process, customers' service demands, each replica's failures and
repairs, ...) draws from its own ``numpy.random.Generator``. A stream is identified by the
replication index and its *name*, so adding a third replica adds a stream without shifting
any other: arrivals and the first two replicas' failures stay the same (common random numbers).
Names are turned into integers with SHA-256, never with the per-process salted ``hash()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import numpy as np

from sim.random.distributions import Distribution

BLOCK = 512  # draws taken from numpy at once: scalar draws cost ~1 µs each, block draws ~10 ns


def name_key(name: str) -> tuple[int, ...]:
    """A stable tuple of 32-bit integers identifying ``name`` (for SeedSequence spawn keys)."""
    digest = hashlib.sha256(name.encode()).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class Streams:
    """The random streams of one replication of one experiment."""

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(self.replication, *name_key(name)))

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator for the source ``name`` (the same name gives the same stream)."""
        return np.random.Generator(np.random.PCG64(self.seed_sequence(name)))

    def sampler(self, name: str, dist: Distribution) -> Callable[[], float]:
        """A zero-argument function returning successive draws of ``dist`` from stream ``name``."""
        return block_sampler(dist, self.generator(name))

    def uniform(self, name: str) -> Callable[[], float]:
        """Successive U(0, 1) draws from stream ``name``."""
        rng = self.generator(name)
        return _blocks(lambda: rng.random(BLOCK)).__next__


def block_sampler(dist: Distribution, rng: np.random.Generator) -> Callable[[], float]:
    """Draw ``dist`` in blocks of :data:`BLOCK` and hand out one Python float per call."""
    return _blocks(lambda: dist.sample(rng, BLOCK)).__next__


def _blocks(draw_block: Callable[[], np.ndarray]) -> Iterator[float]:
    while True:
        yield from draw_block().tolist()
