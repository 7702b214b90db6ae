"""Pure parts of the live stream: line splitting, the bounded outbox, selection parsing."""

import pytest

from clusters.kube.pod_logs import LineSplitter
from environments.logs.selection import SelectionError, parse_selection
from portal.streaming import Outbox


def test_splitter_joins_chunks_and_cuts_only_over_long_lines():
    splitter = LineSplitter(limit=10)
    assert splitter.feed(b"ab") == []
    assert splitter.feed(b"c\nde\n0123456789") == [b"abc", b"de"]
    assert splitter.feed(b"ABCDEF\nok\n") == [b"0123456789 \xe2\x80\xa6 [6 more bytes not shown]", b"ok"]
    assert splitter.feed(b"\n") == [b""]


async def test_outbox_drops_droppable_messages_when_full_but_keeps_markers():
    box = Outbox(max_items=2, max_bytes=1000)
    assert box.put({"text": "a"}, size=1, droppable=True)
    assert box.put({"text": "b"}, size=1, droppable=True)
    assert not box.put({"text": "c"}, size=1, droppable=True)
    assert box.put({"type": "marker"}, size=1, droppable=False)  # markers are never dropped
    assert (box.skipped, box.overflowed) == (1, True)
    assert box.take(max_items=10, max_bytes=2) == [{"text": "a"}, {"text": "b"}]
    assert box.take(max_items=10, max_bytes=2) == [{"type": "marker"}]
    assert not box.ready.is_set()


def test_outbox_bounds_bytes_and_lets_one_big_message_through():
    box = Outbox(max_items=100, max_bytes=2_000_000)
    assert box.put({"text": "x"}, size=1_500_000, droppable=True)
    assert not box.put({"text": "y"}, size=600_000, droppable=True)
    assert box.take(max_items=10, max_bytes=512 * 1024) == [{"text": "x"}]  # alone in its batch


def test_selection_parsing():
    selection = parse_selection({"component": ["web,api", "web"], "tail": ["all"], "since": ["60"],
                                 "previous": ["1"], "container": ["web"]})
    assert selection.components == ("web", "api") and selection.tail_lines is None
    assert (selection.since_seconds, selection.previous, selection.container) == (60, True, "web")
    assert selection.label_selector() == "app.kubernetes.io/name in (web,api)"
    assert parse_selection({}).tail_lines == 200
    for bad in ({"component": ["Web!"]}, {"tail": ["-1"]}, {"since": ["soon"]}, {"pod": ["a b"]}):
        with pytest.raises(SelectionError):
            parse_selection(bad)
