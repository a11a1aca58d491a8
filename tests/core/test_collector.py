"""The serving process's garbage collector settings (effleura/collector.py)."""

import gc

import pytest

from effleura import collector


@pytest.fixture
def restored_collector():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_freezes_the_loaded_application_and_spaces_young_collections(restored_collector):
    _, middle, old = gc.get_threshold()
    gc.unfreeze()

    collector.settle()

    assert gc.get_freeze_count() > 10_000  # Django, the apps and every view module
    assert gc.get_threshold() == (collector.YOUNG, middle, old)


def test_cycles_are_still_collected_after_settling(restored_collector):
    collector.settle()

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
