"""Long-lived objects kept out of the cycle collector's way.

The bot builds most of what it holds once: its modules and their tables, the
clients, the match index (hundreds of thousands of small objects with the
French word vectors). Python's cycle collector walks every tracked object at
each full collection, which came every few hundred updates: with that heap
frozen, `bench/intake.py --quick` handled ~10 % more updates per CPU second (its
ratio to the durable echo 0.143 → 0.160). `gc.freeze()`
moves what exists into a generation the collector never walks; reference
counting still frees those objects when they are dropped, so only a cycle among
them would outlive its last reference, until the next `settle`.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Called once something that lives for the whole process is built (the
    wiring at start, a new match index): back into the collector's view, one
    full collection (the garbage of the build and of a replaced index), then
    frozen. A full collection takes tens of milliseconds: at start and at each
    catalog change only."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
