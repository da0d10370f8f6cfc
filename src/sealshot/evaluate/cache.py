"""On-disk caches of detections, embeddings and quality scores, keyed by image content.

Everything the benchmark computes per image is keyed by the SHA-256 of the
image file's bytes plus the name of what produced it (detector config, model,
quality method), so a renamed copy hits the cache and an edited image misses it.
One SQLite file per kind, in WAL mode, so that two processes (the benchmark and
a training job) can read and write at the same time.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

CACHE_ENV = "SEALSHOT_CACHE"


def default_cache_dir() -> Path:
    """``$SEALSHOT_CACHE`` if set, else ``.cache/sealshot`` under the current directory (gitignored in the repo)."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.cwd() / ".cache" / "sealshot"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_hashes(paths: Sequence[Path]) -> list[str]:
    return [file_sha256(p) for p in paths]


class ArrayStore:
    """A persistent map ``(namespace, sha256) -> float32 vector`` in one SQLite file.

    ``namespace`` names the producer (``"facenet"``, ``"mtcnn-min20"``, ``"quality:vae"``);
    a stored empty vector is a valid value (e.g. "no face found").
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(self.path, timeout=120)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS vectors (namespace TEXT NOT NULL, sha256 TEXT NOT NULL, value BLOB NOT NULL,"
            " PRIMARY KEY (namespace, sha256))"
        )
        self._connection.commit()

    def get_many(self, namespace: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 900):  # SQLite's bound-parameter limit
            chunk = unique[start : start + 900]
            marks = ",".join("?" * len(chunk))
            rows = self._connection.execute(
                f"SELECT sha256, value FROM vectors WHERE namespace = ? AND sha256 IN ({marks})", [namespace, *chunk]
            )
            for sha, blob in rows:
                found[sha] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, namespace: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [(namespace, sha, np.ascontiguousarray(value, dtype=np.float32).tobytes()) for sha, value in items]
        if rows:
            with self._connection:
                self._connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def delete_namespace(self, namespace: str) -> int:
        with self._connection:
            cursor = self._connection.execute("DELETE FROM vectors WHERE namespace = ?", (namespace,))
        return int(cursor.rowcount)

    def count(self, namespace: str) -> int:
        return int(self._connection.execute("SELECT COUNT(*) FROM vectors WHERE namespace = ?", (namespace,)).fetchone()[0])

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> "ArrayStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(kind: str, cache_dir: Path | None = None) -> ArrayStore:
    """The store for ``kind`` (``"detections"``, ``"embeddings"``, ``"quality"``) under ``cache_dir``."""
    return ArrayStore((cache_dir or default_cache_dir()) / f"{kind}.sqlite")
