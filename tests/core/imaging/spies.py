"""A spy for the decode-counting tests (test_source, test_early)."""

from __future__ import annotations


def count_calls(obj: object, method: str) -> list[int]:
    """Counts calls of ``obj``'s ``method`` (the spy calls the real method); the list
    grows by one per call."""
    calls: list[int] = []
    real = getattr(obj, method)

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)
    setattr(obj, method, spy)
    return calls
