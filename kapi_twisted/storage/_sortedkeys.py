"""
The sorted key list of an L{kapi_twisted.storage._index.Index}, in blocks.

One flat sorted list made every new key an C{insort}: a C{memmove} of half
the list, so a create's cost grew with the number of stored objects (about
2 us per index at 15,000 keys, 20 us at 200,000; the SQLite backend and the
watch cache each keep an index). Here the keys sit in blocks of at most
C{2 * load} sorted keys, with the last key of each block in C{maxes}: an
insert or removal touches one block; listing a range walks the blocks it
covers.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from itertools import islice
from typing import Iterable, Iterator, List, Optional, Tuple

#: Keys per block after a split (blocks hold at most twice as many).
LOAD = 512


class SortedKeys:
    """A set of strings kept in order, with range counts and range iteration."""

    def __init__(self, keys: Iterable[str] = (), load: int = LOAD) -> None:
        self._load = load
        ordered = sorted(keys)
        self._blocks: List[List[str]] = [
            ordered[i:i + load] for i in range(0, len(ordered), load)]
        self._maxes: List[str] = [block[-1] for block in self._blocks]
        self._len = len(ordered)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[str]:
        for block in self._blocks:
            yield from block

    def add(self, key: str) -> None:
        """Add C{key}, which must not be present."""
        maxes = self._maxes
        if not maxes:
            self._blocks.append([key])
            maxes.append(key)
            self._len = 1
            return
        i = bisect_left(maxes, key)
        if i == len(maxes):
            i -= 1
            block = self._blocks[i]
            block.append(key)
            maxes[i] = key
        else:
            block = self._blocks[i]
            insort(block, key)
        self._len += 1
        if len(block) > 2 * self._load:
            half = len(block) // 2
            self._blocks[i:i + 1] = [block[:half], block[half:]]
            maxes[i:i + 1] = [block[half - 1], block[-1]]

    def discard(self, key: str) -> bool:
        """Remove C{key} if present; whether it was."""
        maxes = self._maxes
        i = bisect_left(maxes, key)
        if i == len(maxes):
            return False
        block = self._blocks[i]
        j = bisect_left(block, key)
        if block[j] != key:  # j < len(block): key <= maxes[i] == block[-1]
            return False
        del block[j]
        self._len -= 1
        if not block:
            del self._blocks[i]
            del maxes[i]
        elif j == len(block):
            maxes[i] = block[-1]
        return True

    def _locate(self, key: Optional[str]) -> Tuple[int, int]:
        """(block, offset) of the first key >= C{key}; None: the end."""
        maxes = self._maxes
        if key is None:
            return len(maxes), 0
        i = bisect_left(maxes, key)
        if i == len(maxes):
            return i, 0
        return i, bisect_left(self._blocks[i], key)

    def count(self, low: str, high: Optional[str]) -> int:
        """How many keys are >= C{low} and < C{high} (None: no upper bound)."""
        (bi, bo), (ei, eo) = self._locate(low), self._locate(high)
        if (ei, eo) <= (bi, bo):
            return 0
        if bi == ei:
            return eo - bo
        blocks = self._blocks
        return (len(blocks[bi]) - bo + sum(len(blocks[k]) for k in range(bi + 1, ei)) + eo)

    def range(self, low: str, high: Optional[str], limit: int = 0) -> List[str]:
        """
        The keys >= C{low} and < C{high} (None: no upper bound) in order, at
        most C{limit} of them (0: all).
        """
        (bi, bo), (ei, eo) = self._locate(low), self._locate(high)
        if (ei, eo) <= (bi, bo):
            return []
        blocks = self._blocks
        if bi == ei:
            keys = blocks[bi][bo:eo]
        else:
            keys = blocks[bi][bo:]
            for k in range(bi + 1, ei):
                if 0 < limit <= len(keys):
                    break
                keys.extend(blocks[k])
            else:
                if eo:  # ei may be the end (no block)
                    keys.extend(blocks[ei][:eo])
        if 0 < limit < len(keys):
            del keys[limit:]
        return keys

    def iter_range(self, low: str, high: Optional[str]) -> Iterator[str]:
        """L{range} without a limit, one key at a time."""
        (bi, bo), (ei, eo) = self._locate(low), self._locate(high)
        if (ei, eo) <= (bi, bo):
            return
        blocks = self._blocks
        if bi == ei:
            yield from islice(blocks[bi], bo, eo)
            return
        yield from islice(blocks[bi], bo, None)
        for k in range(bi + 1, ei):
            yield from blocks[k]
        yield from islice(blocks[ei], eo) if eo else ()
