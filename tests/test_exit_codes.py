"""One exit code per kind of failure, from the one map in ``cli.py`` (documented in the README)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealshot.errors import InputError, ModelError, SealshotError, SourceError, VaultError


def _sealshot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"OMP_NUM_THREADS": "1", "TMPDIR": str(cwd)}
    return subprocess.run([sys.executable, "-m", "sealshot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_each_error_class_has_its_own_documented_code() -> None:
    codes = {cls: cls.exit_code for cls in (SealshotError, InputError, SourceError, VaultError, ModelError)}
    assert codes == {SealshotError: 1, InputError: 2, SourceError: 3, VaultError: 4, ModelError: 5}
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for cls, code in codes.items():
        if cls is not SealshotError:
            assert f"| {code} |" in readme and cls.__name__ in readme


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("codes")
    assert _sealshot("keygen", "--out", "keys", cwd=folder).returncode == 0
    return folder


def test_a_source_that_cannot_be_read_exits_3_with_one_line(work: Path) -> None:
    result = _sealshot("run", "missing.mp4", "--vault", "vault", "--recipient", "keys/authority.pub", "--no-progress", cwd=work)
    assert result.returncode == 3, result.stderr
    assert "missing.mp4: no such file" in result.stderr and "Traceback" not in result.stderr


def test_bad_input_exits_2_and_a_vault_problem_exits_4(work: Path) -> None:
    score = _sealshot("score", "nowhere.jpg", "--out", "scores.csv", cwd=work)
    assert score.returncode == 2 and "no such image or folder: nowhere.jpg" in score.stderr
    (work / "plain-file").write_text("not a vault")
    listing = _sealshot("vault", "list", "--vault", "plain-file", cwd=work)
    assert listing.returncode == 4 and "plain-file" in listing.stderr and "Traceback" not in listing.stderr


@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--threads", "-1"], "--threads"),
        (["--detect-every", "0"], "--detect-every"),
        (["--max-frames", "-1"], "--max-frames"),
        (["--min-detections", "0"], "--min-detections"),
        (["--min-face", "0"], "min_face_size must be more than 0"),  # divided by zero in the detector before
        (["--max-unseen", "-1"], "max_unseen_s must be more than 0"),  # sealed nobody, silently, before
        (["--thresholds", "2", "2", "2"], "thresholds must be three detector scores from 0 to 1"),  # found nothing, silently
    ],
)
def test_run_refuses_an_option_value_that_cannot_work_with_exit_2_before_any_source(
    tmp_path: Path, sample_clip: Path, option: list[str], named: str
) -> None:
    from typer.testing import CliRunner

    from sealshot.cli import app

    result = CliRunner().invoke(app, ["run", str(sample_clip), "--vault", str(tmp_path / "vault"), "--recipient", "none.pub", "--no-progress", *option])
    assert result.exit_code == 2, result.output
    assert named in " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert not (tmp_path / "vault").exists()


def test_the_settings_refuse_values_that_cannot_work_for_library_users_too() -> None:
    from sealshot.config import PipelineConfig, RunConfig
    from sealshot.detect import MTCNNConfig
    from sealshot.track import TrackerConfig

    for make in (
        lambda: MTCNNConfig(min_face_size=0),
        lambda: MTCNNConfig(thresholds=(0.6, 0.7, 1.5)),
        lambda: TrackerConfig(max_unseen_s=-1.0),
        lambda: TrackerConfig(min_detections=0),
        lambda: PipelineConfig(detect_every=0),
        lambda: PipelineConfig(lanes=0),
        lambda: PipelineConfig(refine_expand=()),
        lambda: PipelineConfig(refine_expand=(1.0, 0.0)),
        lambda: PipelineConfig(refine_min_score=1.5),
        lambda: RunConfig(max_frames=0),
        lambda: RunConfig(threads=-2),
    ):
        with pytest.raises(InputError):
            make()


def test_the_error_line_shows_brackets_in_paths_and_messages_as_they_are(tmp_path: Path) -> None:
    """The one error line is printed with rich: a path like 'cam[bold]/x' lost its brackets, and every
    cameras.toml message its '[[camera]] #N' (shown as '[] #N')."""
    from typer.testing import CliRunner

    from sealshot.cli import app

    vault = tmp_path / "[bold]vault"
    listing = CliRunner().invoke(app, ["vault", "list", "--vault", str(vault)])
    assert listing.exit_code == 4 and f"{vault} is not a sealshot vault" in " ".join(listing.output.split()), listing.output
    config = tmp_path / "cameras.toml"
    config.write_text('vault = "v"\nrecipient = "k.pub"\n[[camera]]\nsource = "rtsp://10.0.0.5/a"\nmin_face = 0\n')
    served = CliRunner().invoke(app, ["serve", "--config", str(config)])
    assert served.exit_code == 2 and "cameras.toml:5: [[camera]] #1: min_face must be more than 0" in " ".join(served.output.split()), served.output


def _wrong_recipient(folder: Path, kind: str) -> Path:
    """A file an operator might pass as --recipient by mistake, made in ``folder`` (beside ``keys/``)."""
    from sealshot.vault import load_recipient
    from sealshot.vault.keys import AuthorityPrivateKey
    from sealshot.vault.sealed import SEALED_FORMAT, seal
    from sealshot.vault.shares import split_key

    path = folder / f"recipient-{kind}"
    if kind == "private key":
        return folder / "keys" / "authority.key"
    if kind == "missing":
        return path
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("authority of the lobby camera\n")
    elif kind == "sealed snapshot":
        path.write_bytes(seal(b"not a picture", {"format": SEALED_FORMAT}, load_recipient(folder / "keys" / "authority.pub")))
    elif kind == "share":
        _, shares = split_key(AuthorityPrivateKey.generate(), holders=3, threshold=2)
        path.write_bytes(shares[0])
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("private key", "is the authority's PRIVATE key; a camera must hold only the public key (authority.pub)"),
        ("empty", "is empty; expected the authority's public key"),
        ("text", "is not valid JSON; expected the authority's public key"),
        ("sealed snapshot", "is a sealed snapshot, not a key"),
        ("share", "is a key holder's share of the authority key"),
        ("missing", "does not exist; expected the authority's public key"),
    ],
)
def test_run_refuses_a_recipient_that_is_not_the_public_key_with_exit_2_before_any_source(
    work: Path, tmp_path: Path, sample_clip: Path, kind: str, message: str
) -> None:
    """The authority's private key given as --recipient exited 4 ('not a sealshot authority public key'), as if
    the vault had failed, and said nothing of the key that must not be on a camera."""
    from typer.testing import CliRunner

    from sealshot.cli import app

    recipient = _wrong_recipient(work, kind)
    result = CliRunner().invoke(
        app, ["run", str(sample_clip), "--vault", str(tmp_path / "vault"), "--recipient", str(recipient), "--no-progress", "--max-frames", "2"]
    )
    assert result.exit_code == 2, result.output
    assert f"recipient {recipient} {message}" in " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit)  # one line, no traceback
    assert not (tmp_path / "vault").exists()  # no frame read, nothing sealed


def test_batch_and_serve_refuse_the_private_key_as_recipient_with_exit_2(work: Path, tmp_path: Path, sample_clip: Path) -> None:
    from typer.testing import CliRunner

    from sealshot.cli import app

    private = work / "keys" / "authority.key"
    batched = CliRunner().invoke(
        app, ["batch", str(sample_clip), "--vault", str(tmp_path / "vault"), "--recipient", str(private), "--ray", "none", "--no-progress"]
    )
    assert batched.exit_code == 2, batched.output
    assert "is the authority's PRIVATE key" in " ".join(batched.output.split())
    config = tmp_path / "cameras.toml"
    config.write_text(f'vault = "vault"\nrecipient = "{private}"\n[[camera]]\nid = "lobby"\nsource = "rtsp://10.0.0.5/a"\n')
    served = CliRunner().invoke(app, ["serve", "--config", str(config), "--metrics", "off"])
    assert served.exit_code == 2, served.output
    assert f"cameras.toml: camera 'lobby': recipient {private} is the authority's PRIVATE key" in " ".join(served.output.split())
    assert not (tmp_path / "vault").exists()


@pytest.mark.parametrize(("module", "weights", "detector"), [("yunet", "yunet-2023mar.onnx", "yunet"), ("mtcnn", "onet.pt", "mtcnn")])
def test_damaged_detector_weights_exit_5_naming_the_file(
    work: Path, tmp_path: Path, sample_clip: Path, monkeypatch: pytest.MonkeyPatch, module: str, weights: str, detector: str
) -> None:
    """Weights deleted or cut short by mistake in an installed package: one line naming the file and the remedy, exit 5
    (it was a library's traceback: onnxruntime's InvalidProtobuf, torch's RuntimeError)."""
    import importlib
    from importlib import resources

    from typer.testing import CliRunner

    from sealshot.cli import app

    shipped = resources.files("sealshot.detect.weights")
    for item in shipped.iterdir():
        if item.name.endswith((".pt", ".onnx")):
            data = item.read_bytes()
            (tmp_path / item.name).write_bytes(data[: len(data) // 3] if item.name == weights else data)
    files = resources.files
    monkeypatch.setattr(
        importlib.import_module(f"sealshot.detect.{module}").resources, "files", lambda package: tmp_path if package == "sealshot.detect.weights" else files(package)
    )
    arguments = ["run", str(sample_clip), "--vault", str(tmp_path / "vault"), "--recipient", str(work / "keys" / "authority.pub")]
    result = CliRunner().invoke(app, arguments + ["--detector", detector, "--no-progress", "--max-frames", "3"])
    message = " ".join(result.output.split())
    assert result.exit_code == 5, result.output
    assert weights in message and "reinstall sealshot" in message and "Traceback" not in result.output
