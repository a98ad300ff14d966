"""``FreeLevels`` against a plain set per bucket: moves in and out, ``lowest`` and ``take``.

The heaps hold stale and duplicate entries (a node that left a bucket and came back), which
``take`` must skip: it returns the lowest members, ascending, and leaves the rest intact.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.scheduling.nodes import FreeLevels

NODES, LEVELS = 12, 3
# (kind, node or count, level): "move" puts a node into a level (out of its own), "take"
# takes ``count`` lowest nodes from a level, "lowest" only asks for them
ops = st.lists(
    st.tuples(
        st.sampled_from(["move", "move", "take", "lowest"]),
        st.integers(0, NODES - 1),
        st.integers(0, LEVELS - 1),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_take_and_lowest_match_a_sorted_set(operations: list[tuple[str, int, int]]) -> None:
    levels = FreeLevels(LEVELS - 1)
    where: dict[int, int] = {}  # node -> level, for the nodes in some bucket
    for kind, arg, level in operations:
        model = sorted(node for node, at in where.items() if at == level)
        if kind == "move":
            if arg in where:
                levels.remove(arg, where[arg])
            levels.add(arg, level)
            where[arg] = level
        elif kind == "lowest":
            assert levels.lowest(level, arg) == model[:arg]
        else:
            count = min(arg, len(model))
            assert levels.take(level, count) == tuple(model[:count])
            for node in model[:count]:
                del where[node]
        for lv in range(LEVELS):
            members = {node for node, at in where.items() if at == lv}
            assert levels.members[lv] == members
            assert members <= levels.heap_nodes(lv)  # every member is still in the heap
