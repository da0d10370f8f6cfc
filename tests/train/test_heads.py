"""Training of the quality heads on synthetic embeddings whose true quality is known.

Synthetic identities: unit class centres; a face of quality ``1 − a`` is its
centre pulled by ``a`` towards a shared "degraded" direction (low-quality faces of
different people look alike to a recognition model) plus noise growing with ``a``
(low-quality faces of one person scatter).
A head that learned quality ranks held-out identities' faces by ``−a``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from sealshot.quality.serfiq import serfiq_quality
from sealshot.train.heads import (
    EmbeddingSet,
    genuine_similarity,
    reject_gain,
    split_identities,
    train_method,
)


def synthetic(classes: int = 40, per_identity: int = 8, dim: int = 64, seed: int = 0) -> tuple[EmbeddingSet, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    degraded = rng.normal(size=dim)
    degraded /= np.linalg.norm(degraded)
    labels = np.repeat(np.arange(classes), per_identity)
    pull = rng.uniform(0, 0.8, size=len(labels))
    noise = (0.1 + pull[:, None]) * rng.normal(size=(len(labels), dim)) / np.sqrt(dim)
    x = (1 - pull)[:, None] * centres[labels] + pull[:, None] * degraded + noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return EmbeddingSet(x, labels), 1 - pull


@pytest.fixture(scope="module")
def data() -> tuple[EmbeddingSet, np.ndarray]:
    torch.set_num_threads(1)
    return synthetic()


def _held_out(data: EmbeddingSet) -> np.ndarray:
    return ~split_identities(data.labels)


@pytest.mark.parametrize("method, options", [("eqface", {"epochs": 15}), ("pfe", {"epochs": 200}), ("dul", {"epochs": 20})])
def test_head_learns_quality_of_unseen_identities(data, method: str, options: dict) -> None:
    embeddings, true_quality = data
    trained = train_method(method, embeddings, **options)
    held_out = _held_out(embeddings)
    x = torch.as_tensor(embeddings.embeddings[held_out])
    with torch.no_grad():
        quality = trained.head(x).numpy() if method == "eqface" else -trained.head(x).mean(1).numpy()
    assert spearmanr(quality, true_quality[held_out]).statistic > 0.3
    assert trained.meta["validation_identities"] == 4 and trained.meta["train_identities"] == 36
    assert set(trained.meta["validation"]) >= {"spearman_vs_genuine_similarity", "fnmr_ratio_at_20pct_reject"}


def test_training_is_deterministic(data) -> None:
    embeddings, _ = data
    first = train_method("dul", embeddings, epochs=3).head.state_dict()
    second = train_method("dul", embeddings, epochs=3).head.state_dict()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def test_serfiq_head_separates_identities_and_ranks_its_training_faces(data) -> None:
    # On synthetic data the dropout robustness is learned for the training identities; how well it
    # carries over to unseen people is what the ERC benchmark on LFW measures.
    embeddings, true_quality = data
    trained = train_method("serfiq", embeddings, epochs=20)
    assert trained.meta["train_accuracy"] > 0.9
    train_faces = ~_held_out(embeddings)
    quality = serfiq_quality(trained.head, embeddings.embeddings[train_faces])
    assert np.all((quality > 0) & (quality <= 1))
    assert spearmanr(quality, true_quality[train_faces]).statistic > 0.3


def test_identity_split_holds_out_whole_identities() -> None:
    labels = np.repeat(np.arange(50), 3)
    train = split_identities(labels, fraction=0.1, seed=0)
    assert set(labels[train]).isdisjoint(labels[~train])
    assert len(set(labels[~train])) == 5


def test_validation_figures_by_hand() -> None:
    e = np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]], np.float32)
    data = EmbeddingSet(e, np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(genuine_similarity(data), [0.8, 0.8, 0.0, 0.0], atol=1e-6)
    # Impostor similarities: 0, -1, 0.6, -0.8 → threshold near 0.6 at FMR 1%; the pair (2, 3) fails.
    assert reject_gain(np.array([1.0, 1.0, 0.0, 0.0]), data, reject=0.5) == 0.0
    assert reject_gain(np.array([0.0, 0.0, 1.0, 1.0]), data, reject=0.5) == 2.0
