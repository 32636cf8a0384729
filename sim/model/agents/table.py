"""Column store for the firm population.

Firm state lives in numpy columns (one row per firm, grown in amortised chunks) so rules run as
vectorised operations; each ``Firm`` Mesa agent is a view on its row (``sim/model/agents/firms.py``).
"""

from __future__ import annotations

import numpy as np

GROWTH_FACTOR = 1.5  # amortised growth of column capacity


class ColumnTable:
    """Named numpy columns sharing one row index. ``n`` rows are in use.

    ``columns`` maps name -> (dtype, fill value[, width]); a width makes a 2-D column
    (e.g. a revenue history of several years).
    """

    def __init__(self, columns: dict[str, tuple], capacity: int = 1024):
        self._spec = columns
        self.n = 0
        self.capacity = max(16, int(capacity))
        for name, spec in columns.items():
            setattr(self, name, self._alloc(spec, self.capacity))

    @staticmethod
    def _alloc(spec, capacity):
        dtype, fill = spec[0], spec[1]
        shape = (capacity,) if len(spec) < 3 else (capacity, spec[2])
        return np.full(shape, fill, dtype=dtype)

    def _grow(self, needed: int) -> None:
        new_cap = max(needed, int(self.capacity * GROWTH_FACTOR) + 16)
        for name, spec in self._spec.items():
            old = getattr(self, name)
            arr = self._alloc(spec, new_cap)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)
        self.capacity = new_cap

    def add_rows(self, k: int, **values) -> np.ndarray:
        """Append ``k`` rows with the given column values (others take their fill). Returns the row ids."""
        if self.n + k > self.capacity:
            self._grow(self.n + k)
        rows = np.arange(self.n, self.n + k)
        for name, value in values.items():
            getattr(self, name)[self.n : self.n + k] = value
        self.n += k
        return rows

    def col(self, name: str) -> np.ndarray:
        """The used part of a column (a view)."""
        return getattr(self, name)[: self.n]

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in self._spec)
