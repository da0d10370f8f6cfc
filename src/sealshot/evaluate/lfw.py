"""Labeled Faces in the Wild: images, the standard View 2 pairs, and a large comparison set.

Image sets are lists of paths; comparison sets index into them. Comparison
scores are dot products of L2-normalised embeddings, computed in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sealshot.errors import InputError
from sealshot.video.images import is_image_file

DEFAULT_GENUINE_CAP = 100
DEFAULT_IMPOSTORS = 1_000_000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class LFW:
    """A folder in LFW layout: one sub-folder of images per identity, in ``images/`` or at the top,
    optionally with LFW's ``pairs.txt`` beside them (``images/<Name>/<Name>_NNNN.jpg``).

    Any image format OpenCV reads is taken (``sealshot.video.images.IMAGE_SUFFIXES``). Without
    ``pairs.txt`` there is no View 2 set: the benchmark runs on the large set and selection gain only.
    """

    root: Path

    @property
    def images_dir(self) -> Path:
        nested = self.root / "images"
        return nested if nested.is_dir() else self.root

    @property
    def pairs_file(self) -> Path:
        return self.root / "pairs.txt"

    @property
    def has_pairs(self) -> bool:
        return self.pairs_file.is_file()

    def image_path(self, name: str, number: int) -> Path:
        return self.images_dir / name / f"{name}_{number:04d}.jpg"

    def people(self) -> dict[str, list[Path]]:
        """Every identity with its images, sorted by name and file name (folders without images left out)."""
        if not self.root.is_dir():
            raise InputError(f"{self.root}: no such folder (expected one sub-folder of images per identity)")
        people = {d.name: sorted(p for p in d.iterdir() if is_image_file(p)) for d in sorted(self.images_dir.iterdir()) if d.is_dir()}
        people = {name: files for name, files in people.items() if files}
        if not people:
            raise InputError(f"{self.images_dir}: no identity folders with images (LFW layout: <identity>/<image files>)")
        return people


@dataclass(frozen=True)
class ImageSet:
    """Images and their identity labels (integers, one per identity)."""

    paths: tuple[Path, ...]
    labels: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return len(self.paths)


@dataclass(frozen=True)
class Comparisons:
    """Pairs of images of an ``ImageSet``: ``a``, ``b`` indices, ``genuine`` mask and, for View 2, the fold."""

    a: np.ndarray
    b: np.ndarray
    genuine: np.ndarray
    fold: np.ndarray

    def __len__(self) -> int:
        return int(self.a.shape[0])

    def subset(self, mask: np.ndarray) -> "Comparisons":
        return Comparisons(self.a[mask], self.b[mask], self.genuine[mask], self.fold[mask])


def image_set(lfw: LFW, people: dict[str, list[Path]] | None = None) -> ImageSet:
    people = people if people is not None else lfw.people()
    paths: list[Path] = []
    labels: list[int] = []
    for label, files in enumerate(people.values()):
        paths += files
        labels += [label] * len(files)
    return ImageSet(tuple(paths), np.asarray(labels, np.int64))


def no_comparisons() -> Comparisons:
    empty = np.zeros(0, np.int64)
    return Comparisons(empty, empty.copy(), np.zeros(0, bool), empty.copy())


def read_view2_pairs(lfw: LFW, images: ImageSet) -> Comparisons:
    """The standard 10 folds × (300 genuine + 300 impostor) of ``pairs.txt``, as indices into ``images``
    (none when the folder has no ``pairs.txt``)."""
    if not lfw.has_pairs:
        return no_comparisons()
    index = {p: i for i, p in enumerate(images.paths)}
    lines = lfw.pairs_file.read_text().split("\n")
    folds, per_fold = (int(v) for v in lines[0].split())
    a, b, genuine, fold = [], [], [], []
    for row, line in enumerate(line for line in lines[1:] if line.strip()):
        parts = line.split()
        if len(parts) == 3:
            first, second, same = lfw.image_path(parts[0], int(parts[1])), lfw.image_path(parts[0], int(parts[2])), True
        else:
            first, second, same = lfw.image_path(parts[0], int(parts[1])), lfw.image_path(parts[2], int(parts[3])), False
        a.append(index[first])
        b.append(index[second])
        genuine.append(same)
        fold.append(row // (2 * per_fold))
    if len(a) != folds * 2 * per_fold:
        raise ValueError(f"{lfw.pairs_file}: expected {folds * 2 * per_fold} pairs, read {len(a)}")
    return Comparisons(np.asarray(a), np.asarray(b), np.asarray(genuine), np.asarray(fold))


def large_comparisons(
    images: ImageSet,
    usable: np.ndarray | None = None,
    genuine_cap: int = DEFAULT_GENUINE_CAP,
    impostors: int = DEFAULT_IMPOSTORS,
    seed: int = DEFAULT_SEED,
) -> Comparisons:
    """All genuine pairs of every identity with ≥ 2 usable images, at most ``genuine_cap`` per identity
    (a seeded random subset), plus ``impostors`` distinct random pairs of different identities."""
    rng = np.random.default_rng(seed)
    usable = np.ones(len(images), bool) if usable is None else np.asarray(usable, bool)
    candidates = np.flatnonzero(usable)
    labels = images.labels[candidates]
    order = np.argsort(labels, kind="stable")
    candidates, labels = candidates[order], labels[order]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:], len(labels)]
    genuine_a, genuine_b = [], []
    for start, end in zip(starts, ends):
        members = candidates[start:end]
        if len(members) < 2:
            continue
        i, j = np.triu_indices(len(members), k=1)
        if len(i) > genuine_cap:
            keep = np.sort(rng.choice(len(i), genuine_cap, replace=False))
            i, j = i[keep], j[keep]
        genuine_a.append(members[i])
        genuine_b.append(members[j])
    ga, gb = np.concatenate(genuine_a), np.concatenate(genuine_b)

    pool_labels = images.labels[candidates]
    n = len(candidates)
    _, per_identity = np.unique(pool_labels, return_counts=True)
    possible = (n * n - int((per_identity.astype(np.int64) ** 2).sum())) // 2
    chosen: np.ndarray = np.zeros(0, np.int64)
    if impostors >= possible // 2:
        # A small pool: take every impostor pair (a random draw would hardly ever finish).
        i, j = np.triu_indices(n, k=1)
        different = pool_labels[i] != pool_labels[j]
        chosen = i[different].astype(np.int64) * n + j[different]
        impostors = len(chosen)
    while len(chosen) < impostors:
        draw = max(2 * (impostors - len(chosen)), 1024)
        i = rng.integers(0, n, draw)
        j = rng.integers(0, n, draw)
        ok = pool_labels[i] != pool_labels[j]
        low, high = np.minimum(i[ok], j[ok]), np.maximum(i[ok], j[ok])
        keys = np.concatenate([chosen, low.astype(np.int64) * n + high])
        _, first = np.unique(keys, return_index=True)
        chosen = keys[np.sort(first)][:impostors]
    ia, ib = candidates[chosen // n], candidates[chosen % n]
    a = np.concatenate([ga, ia])
    b = np.concatenate([gb, ib])
    genuine = np.r_[np.ones(len(ga), bool), np.zeros(len(ia), bool)]
    return Comparisons(a, b, genuine, np.full(len(a), -1))


def similarities(embeddings: np.ndarray, comparisons: Comparisons, chunk: int = 200_000) -> np.ndarray:
    """Cosine similarity of each comparison (embeddings are unit rows), in chunks to bound memory."""
    out = np.empty(len(comparisons), np.float32)
    for start in range(0, len(comparisons), chunk):
        a = embeddings[comparisons.a[start : start + chunk]]
        b = embeddings[comparisons.b[start : start + chunk]]
        out[start : start + chunk] = np.einsum("ij,ij->i", a, b)
    return out


def identities_with_at_least(images: ImageSet, min_images: int, cap: int | None = None) -> list[int]:
    """Indices of the images of every identity with ≥ ``min_images`` images, the first ``cap`` of each (file order)."""
    chosen: list[int] = []
    labels, counts = np.unique(images.labels, return_counts=True)
    for label in labels[counts >= min_images]:
        members = np.flatnonzero(images.labels == label)
        chosen += members[:cap].tolist() if cap else members.tolist()
    return chosen
