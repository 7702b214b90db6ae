"""Helpers shared by the copier tests."""


class Progress:
    """A ProgressFn that records every call (and can act on one, e.g. kill a server midway)."""

    def __init__(self, on_call=None):
        self.calls: list[dict] = []
        self.on_call = on_call

    def __call__(self, **counters):
        self.calls.append(counters)
        if self.on_call:
            self.on_call(counters)

    def last(self, name):
        return [c[name] for c in self.calls if name in c][-1]
