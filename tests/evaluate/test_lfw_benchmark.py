"""The comparators, the caches and the whole benchmark on a small LFW subset (real models, real files).

Skips when ../shared/data is absent or the ``evaluate`` extra is not installed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from sealshot.recognize import installed_comparators

pytestmark = pytest.mark.skipif(
    set(installed_comparators()) != {"facenet", "dlib"},
    reason="the evaluate extra is not installed (pip install -e .[evaluate]): no FaceNet/dlib comparators",
)

PAIRS_PER_FOLD = 3  # 60 View 2 pairs, ~115 images
SELECTION_IDENTITIES = 4


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sealshot-cache")


@pytest.fixture(scope="module")
def benchmark_result(lfw_dir: Path, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, float]:
    from sealshot.evaluate.benchmark import BenchmarkConfig, run_erc

    config = BenchmarkConfig(
        lfw_root=lfw_dir,
        methods=["sharpness", "size"],
        cache_dir=cache_dir,
        pairs_per_fold=PAIRS_PER_FOLD,
        selection_cap=6,
        selection_identities=SELECTION_IDENTITIES,
        impostors=5_000,
    )
    out = tmp_path_factory.mktemp("erc")
    started = time.time()
    outputs = run_erc(config, out, log=lambda message: None)
    return outputs.result, out, time.time() - started


def test_embeddings_are_unit_and_separate_identities(lfw_dir: Path, cache_dir: Path) -> None:
    from sealshot.evaluate.faces import embed_image_files

    people = ["Aaron_Peirsol", "Abdullah_Gul"]
    paths = [lfw_dir / "images" / name / f"{name}_{k:04d}.jpg" for name in people for k in (1, 2, 3)]
    for name, dim in (("facenet", 512), ("dlib", 128)):
        embeddings, found = embed_image_files(name, paths, cache_dir)
        assert embeddings.shape == (6, dim) and embeddings.dtype == np.float32 and found.all()
        assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
        similarity = embeddings @ embeddings.T
        same = similarity[:3, :3][np.triu_indices(3, 1)].min(), similarity[3:, 3:][np.triu_indices(3, 1)].min()
        assert min(same) > similarity[:3, 3:].max(), f"{name}: a genuine pair scores below an impostor pair"


def test_embedding_cache_is_keyed_by_content(lfw_dir: Path, cache_dir: Path, tmp_path: Path) -> None:
    from sealshot.evaluate.cache import open_store
    from sealshot.recognize import cache_key, get_comparator
    from sealshot.evaluate.faces import embed_image_files

    original = lfw_dir / "images" / "Aaron_Peirsol" / "Aaron_Peirsol_0001.jpg"
    copy = tmp_path / "renamed.jpg"
    copy.write_bytes(original.read_bytes())
    first, _ = embed_image_files("facenet", [original], cache_dir)
    with open_store("embeddings", cache_dir) as store:
        before = store.count(cache_key(get_comparator("facenet")))
    again, found = embed_image_files("facenet", [copy], cache_dir)
    with open_store("embeddings", cache_dir) as store:
        assert store.count(cache_key(get_comparator("facenet"))) == before  # a hit: nothing new stored
    assert found.all() and np.array_equal(first, again)


def test_benchmark_subset_writes_tables_and_charts(benchmark_result: tuple[dict, Path, float]) -> None:
    result, out, _ = benchmark_result
    assert result["pool"]["view2_pairs"] == 20 * PAIRS_PER_FOLD
    for comparator in ("facenet", "dlib"):
        assert result["accuracy"][comparator]["accuracy"] >= 0.9
        for set_name in ("view2", "large"):
            for protocol in ("fnmr0.01", "fnmr0.001", "fmr0.001"):
                curves = result["erc"][comparator][set_name][protocol]["curves"]
                assert {"sharpness", "size", "RANDOM", "PERFECT"} <= set(curves)
                perfect = np.array(curves["PERFECT"]["fnmr"])
                for method in ("sharpness", "size", "RANDOM"):
                    # Nothing rejects errors faster than PERFECT, under every protocol.
                    assert (np.array(curves[method]["fnmr"]) >= perfect - 1e-12).all()
                assert (out / f"erc-{comparator}-{set_name}-{protocol}.png").stat().st_size > 10_000
        selection = result["selection"][comparator]
        assert selection["trials"] >= 6 * SELECTION_IDENTITIES
        for row in selection["methods"].values():
            assert row["random"] <= row["oracle"] + 1e-12 and row["method"] <= row["oracle"] + 1e-12
    assert result["quality_failure_reasons"] == {"sharpness": {}, "size": {}}
    saved = json.loads((out / "erc.json").read_text())
    assert saved["comparison_sets"]["large"]["impostor"] >= 5_000  # a small pool: every impostor pair
    markdown = (out / "erc.md").read_text()
    assert "pAUC@20" in markdown and "Selection gain" in markdown


def test_rerun_is_served_from_the_cache(lfw_dir: Path, cache_dir: Path, benchmark_result: tuple[dict, Path, float]) -> None:
    from sealshot.evaluate.benchmark import BenchmarkConfig, run_benchmark

    first, _, first_seconds = benchmark_result
    config = BenchmarkConfig(
        lfw_root=lfw_dir,
        methods=["sharpness", "size"],
        cache_dir=cache_dir,
        pairs_per_fold=PAIRS_PER_FOLD,
        selection_cap=6,
        selection_identities=SELECTION_IDENTITIES,
        impostors=5_000,
    )
    started = time.time()
    second = run_benchmark(config, log=lambda message: None)
    assert time.time() - started < first_seconds / 3
    assert second["accuracy"] == first["accuracy"]
    assert json.dumps(second["selection"]) == json.dumps(first["selection"])  # NaN-safe equality


def test_lfw_accuracy_command_and_library_agree_on_a_tiny_view2(lfw_dir: Path, cache_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sealshot.cli import app
    from sealshot.evaluate.benchmark import lfw_accuracy

    # Two folds of one genuine and one impostor pair each, on real LFW images.
    tiny = tmp_path / "lfw"
    for name in ("Aaron_Peirsol", "Abdullah_Gul"):
        (tiny / "images" / name).mkdir(parents=True)
        for k in (1, 2, 3):
            image = f"{name}_{k:04d}.jpg"
            (tiny / "images" / name / image).write_bytes((lfw_dir / "images" / name / image).read_bytes())
    (tiny / "pairs.txt").write_text(
        "2\t1\nAaron_Peirsol\t1\t2\nAaron_Peirsol\t1\tAbdullah_Gul\t1\nAbdullah_Gul\t2\t3\nAaron_Peirsol\t3\tAbdullah_Gul\t2\n"
    )
    (result,) = lfw_accuracy(tiny, ["facenet"], cache_dir=cache_dir)
    assert result.comparator == "facenet" and result.images == 6 and result.no_face == 0
    assert result.verification.pairs == 4 and len(result.verification.fold_accuracies) == 2

    out = tmp_path / "accuracy.json"
    command = CliRunner().invoke(
        app, ["eval", "lfw-accuracy", "--lfw", str(tiny), "--comparators", "facenet", "--cache", str(cache_dir), "--json", str(out)]
    )
    assert command.exit_code == 0, command.output
    assert json.loads(out.read_text()) == {"facenet": json.loads(json.dumps(result.as_dict()))}
