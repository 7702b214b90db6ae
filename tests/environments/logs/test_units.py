"""Pure parts of the live stream: line splitting, the bounded outbox, selection parsing."""

import asyncio
import json

import pytest

from clusters.kube import pod_logs
from clusters.kube.pod_logs import LineSplitter
from environments.logs.selection import SelectionError, parse_selection
from portal.streaming import Outbox, StreamConsumer


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


def test_splitter_cuts_an_over_long_line_inside_a_chunk_and_across_chunks():
    splitter = LineSplitter(limit=4)
    assert splitter.feed(b"a\n123456\nb\n\n") == [b"a", b"1234 \xe2\x80\xa6 [2 more bytes not shown]", b"b", b""]
    assert splitter.feed(b"12") == []
    assert splitter.feed(b"345\n67") == [b"1234 \xe2\x80\xa6 [1 more bytes not shown]"]
    assert splitter.feed(b"\n") == [b"67"]


class _Frames(StreamConsumer):
    """The stream writer with its frames kept; a coalescing wait would outlast the test."""

    COALESCE_SECONDS = 3600.0

    def __init__(self) -> None:
        super().__init__()
        self.outbox = Outbox(max_items=10_000, max_bytes=10_000_000)
        self.sent_seq = self.acked_seq = self.last_batch = 0
        self.last_sent = 0.0
        self.frames: list[list[dict]] = []
        self.sent = asyncio.Event()

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        self.frames.append(json.loads(text_data)["items"])
        self.sent.set()

    async def next_frame(self) -> list[dict]:
        self.sent.clear()
        await asyncio.wait_for(self.sent.wait(), 10)
        return self.frames[-1]


async def test_a_line_that_is_not_part_of_a_burst_is_sent_without_waiting_to_coalesce():
    stream = _Frames()
    writer = asyncio.ensure_future(stream._writer())
    try:
        stream.push({"text": "first"}, droppable=True)
        assert [m["text"] for m in await stream.next_frame()] == ["first"]
        stream.push({"text": "second, a moment later"}, droppable=True)  # the old writer waited here
        assert [m["text"] for m in await stream.next_frame()] == ["second, a moment later"]
        for i in range(StreamConsumer.BURST_ITEMS):
            stream.push({"text": f"burst {i}"}, droppable=True)
        assert len(await stream.next_frame()) == StreamConsumer.BURST_ITEMS
        stream.push({"text": "in the burst"}, droppable=True)  # right after a big frame: held to coalesce
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(stream.frames) == 3
    finally:
        writer.cancel()


async def test_an_acknowledgement_is_taken_without_a_trip_to_the_database_thread(monkeypatch):
    import channels.consumer

    trips = []

    async def close_old_connections():
        trips.append(1)
    monkeypatch.setattr(channels.consumer, "aclose_old_connections", close_old_connections)
    stream = _Frames()
    stream.acked = asyncio.Event()
    stream.sent_seq = 3
    await stream.dispatch({"type": "websocket.receive", "text": '{"ack": 2}'})
    assert (stream.acked_seq, trips) == (2, [])
    await stream.dispatch({"type": "websocket.receive", "text": '{"ack":9}'})  # never past what was sent
    assert (stream.acked_seq, trips) == (3, [])
    seen = []

    async def on_message(content):
        seen.append(content)
    stream.on_message = on_message
    await stream.dispatch({"type": "websocket.receive", "text": '{"pause": true}'})  # anything else: as before
    await stream.dispatch({"type": "websocket.receive", "text": '{"ack": "x"}'})
    assert seen == [{"pause": True}, {"ack": "x"}] and trips == [1, 1]


def test_a_line_encoded_ahead_is_the_json_the_page_always_got():
    from environments.logs.consumers import LogStreamConsumer

    stream = LogStreamConsumer()
    stream.outbox = Outbox(max_items=100, max_bytes=1_000_000)
    stream.prefixes = {}
    lines = [{"pod": "web-7f9c", "container": "app", "ts": "2026-12-05T10:00:00.000000001Z",
              "text": 'say "hi" \\ tab\there ünïcödé 🚢 \x1b[31mred\x1b[0m'},
             {"pod": 'odd"pod', "container": "c\\d", "ts": "", "text": ""}]
    for line in lines:
        stream._emit(line, True)
    stream._emit({"type": "marker", "kind": "info", "text": "a marker stays a dict"}, False)
    taken = stream.outbox.take(max_items=10, max_bytes=10_000_000)
    assert taken[:2] == [json.dumps(line, separators=(",", ":")) for line in lines]
    assert taken[2] == {"type": "marker", "kind": "info", "text": "a marker stays a dict"}
    frames = []

    async def send(text_data=None, **kwargs):
        frames.append(json.loads(text_data))
    stream.send = send
    stream.sent_seq, stream.BATCHED = 0, True
    asyncio.run(stream._send(taken))
    assert frames == [{"type": "batch", "seq": 1, "items": [*lines, taken[2]]}]


class _Collect(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()

    def data_received(self, data: bytes) -> None:
        self.data += data


async def test_gathering_leaves_the_socket_unread_for_a_moment_and_only_a_socket_that_was_reading():
    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(lambda r, w: peers.append(w), "127.0.0.1", 0)
    peers: list[asyncio.StreamWriter] = []
    transport, protocol = await loop.create_connection(_Collect, *server.sockets[0].getsockname()[:2])
    try:
        while not peers:
            await asyncio.sleep(0.01)
        gather = asyncio.ensure_future(pod_logs.let_lines_gather(transport))
        await asyncio.sleep(0)
        assert not transport.is_reading()
        peers[0].write(b"written while the reader gathers\n")
        await peers[0].drain()
        await asyncio.sleep(pod_logs.GATHER_SECONDS / 4)
        assert protocol.data == b""  # left in the kernel until the pause ends
        await gather
        assert transport.is_reading()
        for _ in range(100):
            if protocol.data:
                break
            await asyncio.sleep(0.01)
        assert protocol.data == b"written while the reader gathers\n"

        transport.pause_reading()  # paused by someone else (aiohttp's or TLS's flow control)
        await pod_logs.let_lines_gather(transport)
        assert not transport.is_reading()  # theirs to resume
    finally:
        transport.close()
        server.close()
