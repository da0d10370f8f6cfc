"""How often each chunk was started: a Ray actor of the batch's own job, kept in a module that imports
nothing heavy, so that the actor's process starts quickly and stays small."""

from __future__ import annotations


class AttemptLedger:
    """Counts the starts of each chunk (by ``ChunkSpec.key``); a count above 1 means Ray ran it again."""

    def __init__(self) -> None:
        self.attempts: dict[str, int] = {}

    def begin(self, chunk_key: str) -> int:
        """Record one start of the chunk; returns its attempt number (1 for the first)."""
        self.attempts[chunk_key] = self.attempts.get(chunk_key, 0) + 1
        return self.attempts[chunk_key]

    def attempts_of(self, chunk_key: str) -> int:
        return self.attempts.get(chunk_key, 0)
