"""One random stream per process (common random numbers).

Each named process draws from its own ``numpy.random.Generator``, seeded from
``SeedSequence([seed, crc32(name)])``. Two runs with the same seed share every
stream whose draws a lever does not touch, whatever order the streams are
created in; lever-driven extra events draw from streams of their own.
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """Lazily created, named ``numpy.random.Generator``s derived from one root seed."""

    def __init__(self, seed: int):
        if seed is None:
            raise ValueError("a seed is required: pass an int")
        self.seed = int(seed)
        self._gens: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._gens.get(name)
        if gen is None:
            ss = np.random.SeedSequence([self.seed, zlib.crc32(name.encode())])
            gen = self._gens[name] = np.random.Generator(np.random.PCG64(ss))
        return gen
