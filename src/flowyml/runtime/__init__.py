"""The runtime: plan (run or reuse, with reasons) and one execution loop.

- ``decisions``: the cache key, the decision record and its explanation (one place,
  used by the loop, ``plan`` and map-over);
- ``loop``: the scheduling loop, a small state object (ready / submit / complete /
  release);
- ``recorder``: group commit of step records, and the run's heartbeat;
- ``planning``: ``plan``, the same decisions from the catalog alone;
- ``mapping``: ``@step(map_over=...)``, one cached task per element;
- ``reporting``: progress callbacks.

Nothing here is imported by ``import flowyml``; ``Pipeline.run`` imports it on use.
"""

from .loop import execute
from .reporting import Reporter

__all__ = ["Reporter", "execute"]
