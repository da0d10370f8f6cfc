"""What a user sees is unchanged by refactoring: ``run``, ``score`` and ``eval erc`` against a recorded reference.

The reference ``tests/golden/equivalence.json`` was recorded with ``bench/equivalence.py --record``
before the package was restructured (issue 10); any change to sealed tracks, scores or ERC tables fails here.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import REPO_ROOT, shared_path

pytestmark = pytest.mark.slow


def _equivalence_module():
    spec = importlib.util.spec_from_file_location("equivalence", REPO_ROOT / "bench" / "equivalence.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_score_and_erc_match_the_recorded_reference() -> None:
    shared_path("lfw", "pairs.txt")
    pytest.importorskip("dlib", reason="the ERC reference uses the dlib comparator (the evaluate extra)")
    equivalence = _equivalence_module()
    expected = json.loads((REPO_ROOT / "tests" / "golden" / "equivalence.json").read_text())
    found = equivalence.differences(expected, equivalence.record())
    assert not found, "\n".join(found[:30])


def test_the_comparison_itself_notices_a_change() -> None:
    equivalence = _equivalence_module()
    reference = {"run": [{"track_id": 1, "chosen_quality": -3897.9454216989197, "chosen_frame": 20}], "score": {"vae": [{"quality": "12.5"}]}}
    assert equivalence.differences(reference, json.loads(json.dumps(reference))) == []
    assert equivalence.differences(reference, reference | {"run": [{"track_id": 1, "chosen_quality": -3898.5, "chosen_frame": 20}]})
    assert equivalence.differences(reference, reference | {"score": {"vae": [{"quality": "12.51"}]}})
    # Another CPU's last bits (bench/equivalence.py, ABSOLUTE_TOLERANCE) are no change.
    assert not equivalence.differences(reference, reference | {"run": [{"track_id": 1, "chosen_quality": -3897.92, "chosen_frame": 20}]})
    assert not equivalence.differences({"q": 0.175122}, {"q": 0.174887})
    assert equivalence.differences(reference, reference | {"run": [{"track_id": 2, "chosen_quality": -3897.9454216989197, "chosen_frame": 20}]})
    assert equivalence.differences(reference, reference | {"score": {"vae": [{"quality": "12.6"}]}})
    assert equivalence.differences(reference, reference | {"run": []})
