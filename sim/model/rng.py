"""One random stream per process and month (common random numbers).

Each named process draws from its own ``numpy.random.Generator``. ``streams[name]`` is seeded from
``SeedSequence([seed, crc32(name)])`` (the start state); ``streams.at(name, month)`` is a fresh
generator from ``SeedSequence([seed, crc32(name), month])``, so a process's draws in a month do not
depend on how many it drew in earlier months. Two runs with the same seed therefore share every
month's draws of every process a lever does not touch: after a lever adds a contract or a firm in
one month, the next month's draws are paired again (rows added at the end of the firm table leave
the draws of existing rows unchanged). Lever-driven extra events draw from streams of their own.
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

    def at(self, name: str, month: int) -> np.random.Generator:
        """A generator for process ``name`` in ``month`` (months since 2019-01; any int key)."""
        ss = np.random.SeedSequence([self.seed, zlib.crc32(name.encode()), int(month) + 1000])
        return np.random.Generator(np.random.PCG64(ss))
