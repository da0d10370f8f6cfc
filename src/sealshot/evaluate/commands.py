"""CLI commands of the `evaluate` area; `register(app)` adds them to the `sealshot` app.

``sealshot eval erc``           the ERC / pAUC / selection-gain benchmark on LFW or any LFW-layout folder
``sealshot eval lfw-accuracy``  10-fold LFW View 2 verification accuracy of each comparator
``sealshot eval comparators``   which comparators are installed
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from sealshot.evaluate.lfw import DEFAULT_GENUINE_CAP, DEFAULT_IMPOSTORS, DEFAULT_SEED
from sealshot.recognize import DEFAULT_COMPARATORS

console = Console(stderr=True)
eval_app = typer.Typer(help="Judge quality methods with real face recognition (LFW ERC, pAUC, selection gain).", no_args_is_help=True)

DEFAULT_LFW = Path("../shared/data/lfw")


def _log(message: str) -> None:
    console.log(message)


@eval_app.command("erc")
def erc_command(
    lfw: Annotated[
        Path, typer.Option(help="a folder in LFW layout: one sub-folder of images per identity (in images/ or at the top), pairs.txt optional")
    ] = DEFAULT_LFW,
    methods: Annotated[str, typer.Option(help="comma-separated quality methods, or 'all' for every registered one")] = "all",
    comparators: Annotated[str, typer.Option(help="comma-separated comparators")] = ",".join(DEFAULT_COMPARATORS),
    out: Annotated[Path, typer.Option(help="output folder for erc.json, erc.md and the PNGs")] = Path("out/erc"),
    folds: Annotated[Optional[str], typer.Option(help="only the images of these View 2 folds, e.g. '1-3' (default: all of LFW)")] = None,
    selection_cap: Annotated[Optional[int], typer.Option(help="with --folds/--subset: add up to N images of each identity with ≥ 6 images")] = None,
    selection_identities: Annotated[Optional[int], typer.Option(help="with --selection-cap: only the first K such identities")] = None,
    subset: Annotated[Optional[int], typer.Option(help="only the first N genuine and N impostor pairs of each fold (a quick run)")] = None,
    impostors: Annotated[int, typer.Option(help="impostor pairs in the large comparison set")] = DEFAULT_IMPOSTORS,
    genuine_cap: Annotated[int, typer.Option(help="genuine pairs per identity in the large set, at most")] = DEFAULT_GENUINE_CAP,
    seed: Annotated[int, typer.Option(help="seed of the large set and of RANDOM")] = DEFAULT_SEED,
    cache: Annotated[Optional[Path], typer.Option(help="cache folder (default $SEALSHOT_CACHE or .cache/sealshot)")] = None,
) -> None:
    """Error-versus-reject curves of every method under every comparator, pAUC, FNMR at reject, selection gain."""
    from sealshot.evaluate.benchmark import BenchmarkConfig, parse_folds, parse_names, run_erc
    from sealshot.quality import available

    config = BenchmarkConfig(
        lfw_root=lfw,
        methods=available() if methods == "all" else parse_names(methods),
        comparators=parse_names(comparators),
        cache_dir=cache,
        folds=parse_folds(folds),
        selection_cap=selection_cap,
        pairs_per_fold=subset,
        selection_identities=selection_identities,
        genuine_cap=genuine_cap,
        impostors=impostors,
        seed=seed,
    )
    outputs = run_erc(config, out, log=_log)
    typer.echo(outputs.markdown_path.read_text())
    console.log(f"wrote {outputs.json_path}, {outputs.markdown_path} and {len(outputs.charts)} charts to {out}")


@eval_app.command("lfw-accuracy")
def lfw_accuracy_command(
    lfw: Annotated[Path, typer.Option(help="LFW folder with images/ and pairs.txt")] = DEFAULT_LFW,
    comparators: Annotated[str, typer.Option(help="comma-separated comparators")] = ",".join(DEFAULT_COMPARATORS),
    folds: Annotated[Optional[str], typer.Option(help="only these View 2 folds, e.g. '1-3' (default all 10)")] = None,
    cache: Annotated[Optional[Path], typer.Option(help="cache folder")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write the result as JSON")] = None,
) -> None:
    """LFW View 2 verification accuracy per comparator (threshold chosen on the other folds)."""
    from sealshot.evaluate.benchmark import lfw_accuracy, parse_folds, parse_names

    results = lfw_accuracy(lfw, parse_names(comparators), parse_folds(folds), cache)
    for row in results:
        result = row.verification
        console.print(
            f"{row.comparator}: {result.accuracy * 100:.2f} % ± {result.std * 100:.2f} over {result.pairs} pairs "
            f"({len(result.fold_accuracies)} folds; {row.no_face} images without a face; {row.seconds:.0f} s)"
        )
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({row.comparator: row.as_dict() for row in results}, indent=1) + "\n")


@eval_app.command("comparators")
def comparators_command() -> None:
    """List the comparators and whether their packages are installed."""
    from sealshot.recognize import INSTALL_HINT, available_comparators, installed_comparators

    installed = set(installed_comparators())
    for name in available_comparators():
        console.print(f"{name}: {'installed' if name in installed else 'missing (' + INSTALL_HINT + ')'}")


def calibrate_command(
    method: Annotated[str, typer.Option(help="the quality method to calibrate")],
    images: Annotated[Path, typer.Option(help="a labelled folder in LFW layout: one sub-folder of images per identity")],
    out: Annotated[Path, typer.Option(help="calibration file (JSON) to write; give it to run/score with --calibration")],
    comparators: Annotated[str, typer.Option(help="comma-separated comparators that judge whether a crop verifies")] = ",".join(DEFAULT_COMPARATORS),
    cache: Annotated[Optional[Path], typer.Option(help="cache folder (default $SEALSHOT_CACHE or .cache/sealshot)")] = None,
) -> None:
    """Fit a method's 0–100 calibration on your own labelled images: 100 × P(the crop verifies at FMR = 1e-3)."""
    from sealshot.evaluate.benchmark import parse_names
    from sealshot.evaluate.calibrate import calibrate_folder
    from sealshot.quality import get_quality

    get_quality(method)
    calibration = calibrate_folder(method, images, parse_names(comparators), cache)
    calibration.save(out)
    meta = calibration.meta
    console.print(
        f"{method}: fitted on {meta['crops_fitted']} crops of {meta['identities']} identities "
        f"({meta['verified_share'] * 100:.0f} % verify); {len(calibration.raw)} knots -> {out}"
    )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(eval_app, name="eval")
    app.command("calibrate")(calibrate_command)
