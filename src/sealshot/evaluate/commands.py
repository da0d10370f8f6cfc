"""CLI commands of the `evaluate` area; `register(app)` adds them to the `sealshot` app.

``sealshot eval erc``           the ERC / pAUC / selection-gain benchmark on LFW
``sealshot eval lfw-accuracy``  10-fold LFW View 2 verification accuracy of each comparator
``sealshot eval comparators``   which comparators are installed
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

console = Console(stderr=True)
eval_app = typer.Typer(help="Judge quality methods with real face recognition (LFW ERC, pAUC, selection gain).", no_args_is_help=True)

DEFAULT_LFW = Path("../shared/data/lfw")


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _folds(value: Optional[str]) -> Optional[list[int]]:
    """``"1-3,5"`` (1-based, as LFW documents its folds) → ``[0, 1, 2, 4]``."""
    if not value:
        return None
    folds: list[int] = []
    for part in _split(value):
        low, _, high = part.partition("-")
        folds += list(range(int(low) - 1, int(high or low)))
    return folds


def _log(message: str) -> None:
    console.log(message)


@eval_app.command("erc")
def erc_command(
    lfw: Annotated[Path, typer.Option(help="LFW folder with images/ and pairs.txt")] = DEFAULT_LFW,
    methods: Annotated[str, typer.Option(help="comma-separated quality methods, or 'all' for every registered one")] = "all",
    comparators: Annotated[str, typer.Option(help="comma-separated comparators")] = "facenet,dlib",
    out: Annotated[Path, typer.Option(help="output folder for erc.json, erc.md and the PNGs")] = Path("out/erc"),
    folds: Annotated[Optional[str], typer.Option(help="only the images of these View 2 folds, e.g. '1-3' (default: all of LFW)")] = None,
    selection_cap: Annotated[Optional[int], typer.Option(help="with --folds/--subset: add up to N images of each identity with ≥ 6 images")] = None,
    selection_identities: Annotated[Optional[int], typer.Option(help="with --selection-cap: only the first K such identities")] = None,
    subset: Annotated[Optional[int], typer.Option(help="only the first N genuine and N impostor pairs of each fold (a quick run)")] = None,
    impostors: Annotated[int, typer.Option(help="impostor pairs in the large comparison set")] = 1_000_000,
    genuine_cap: Annotated[int, typer.Option(help="genuine pairs per identity in the large set, at most")] = 100,
    seed: Annotated[int, typer.Option(help="seed of the large set and of RANDOM")] = 0,
    cache: Annotated[Optional[Path], typer.Option(help="cache folder (default $SEALSHOT_CACHE or .cache/sealshot)")] = None,
) -> None:
    """Error-versus-reject curves of every method under every comparator, pAUC, FNMR at reject, selection gain."""
    from sealshot.evaluate.benchmark import BenchmarkConfig, run_benchmark
    from sealshot.evaluate.plots import plot_all
    from sealshot.evaluate.report import write_reports
    from sealshot.quality import available

    method_names = available() if methods == "all" else _split(methods)
    config = BenchmarkConfig(
        lfw_root=lfw,
        methods=method_names,
        comparators=_split(comparators),
        cache_dir=cache,
        folds=_folds(folds),
        selection_cap=selection_cap,
        pairs_per_fold=subset,
        selection_identities=selection_identities,
        genuine_cap=genuine_cap,
        impostors=impostors,
        seed=seed,
    )
    result = run_benchmark(config, log=_log)
    json_path, md_path = write_reports(result, out)
    pngs = plot_all(result, out)
    typer.echo(md_path.read_text())
    console.log(f"wrote {json_path}, {md_path} and {len(pngs)} charts to {out}")


@eval_app.command("lfw-accuracy")
def lfw_accuracy_command(
    lfw: Annotated[Path, typer.Option(help="LFW folder with images/ and pairs.txt")] = DEFAULT_LFW,
    comparators: Annotated[str, typer.Option(help="comma-separated comparators")] = "facenet,dlib",
    folds: Annotated[Optional[str], typer.Option(help="only these View 2 folds, e.g. '1-3' (default all 10)")] = None,
    cache: Annotated[Optional[Path], typer.Option(help="cache folder")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write the result as JSON")] = None,
) -> None:
    """LFW View 2 verification accuracy per comparator (threshold chosen on the other folds)."""
    import numpy as np

    from sealshot.evaluate.faces import embed_image_files
    from sealshot.evaluate.lfw import LFW, image_set, read_view2_pairs, similarities
    from sealshot.evaluate.verification import ten_fold_accuracy

    data = LFW(lfw)
    everything = image_set(data)
    pairs = read_view2_pairs(data, everything)
    chosen_folds = _folds(folds)
    if chosen_folds is not None:
        pairs = pairs.subset(np.isin(pairs.fold, chosen_folds))
    used = np.unique(np.r_[pairs.a, pairs.b])
    paths = [everything.paths[i] for i in used]
    remap = np.full(len(everything), -1)
    remap[used] = np.arange(len(used))
    results = {}
    for name in _split(comparators):
        started = time.time()
        embeddings, found = embed_image_files(name, paths, cache)
        scores = similarities(embeddings, type(pairs)(remap[pairs.a], remap[pairs.b], pairs.genuine, pairs.fold))
        result = ten_fold_accuracy(scores, pairs.genuine, pairs.fold)
        results[name] = {**result.as_dict(), "images": len(paths), "no_face": int((~found).sum())}
        console.print(
            f"{name}: {result.accuracy * 100:.2f} % ± {result.std * 100:.2f} over {result.pairs} pairs "
            f"({len(result.fold_accuracies)} folds; {int((~found).sum())} images without a face; {time.time() - started:.0f} s)"
        )
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=1) + "\n")


@eval_app.command("comparators")
def comparators_command() -> None:
    """List the comparators and whether their packages are installed."""
    from sealshot.evaluate.comparators import INSTALL_HINT, available_comparators, installed_comparators

    installed = set(installed_comparators())
    for name in available_comparators():
        console.print(f"{name}: {'installed' if name in installed else 'missing (' + INSTALL_HINT + ')'}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(eval_app, name="eval")
