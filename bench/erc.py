"""The ERC benchmark over every registered quality method, judged by FaceNet and dlib on LFW.

    python bench/erc.py                                  # the full protocol: every LFW image
    python bench/erc.py --folds 1-2 --selection-cap 6 --selection-identities 120   # a restricted pool

Methods are taken from ``sealshot.quality.available()`` at run time, so methods
added later are included. Writes ``bench/results/erc/``: erc.json, erc.md and one
ERC chart per comparator, comparison set and protocol. Detections, embeddings
and quality scores are cached by file content under ``$SEALSHOT_CACHE`` (default
``.cache/sealshot``), so a re-run only computes what is new.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import cv2
import torch

from sealshot.evaluate.benchmark import BenchmarkConfig, parse_folds, parse_names, run_erc
from sealshot.evaluate.lfw import DEFAULT_GENUINE_CAP, DEFAULT_IMPOSTORS
from sealshot.quality import available
from sealshot.recognize import DEFAULT_COMPARATORS

ROOT = Path(__file__).resolve().parents[1]
LFW_DIR = ROOT / ".." / "shared" / "data" / "lfw"
OUT = ROOT / "bench" / "results" / "erc"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lfw", type=Path, default=LFW_DIR)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--methods", default="all", help="comma-separated, or 'all' (every registered method)")
    parser.add_argument("--comparators", default=",".join(DEFAULT_COMPARATORS))
    parser.add_argument("--folds", default=None, help="restrict the pool to these View 2 folds (1-based), e.g. 1-3")
    parser.add_argument("--selection-cap", type=int, default=None, help="with --folds: add up to N images per identity with >= 6")
    parser.add_argument("--selection-identities", type=int, default=None, help="with --selection-cap: only the first K such identities")
    parser.add_argument("--impostors", type=int, default=DEFAULT_IMPOSTORS)
    parser.add_argument("--genuine-cap", type=int, default=DEFAULT_GENUINE_CAP)
    parser.add_argument("--threads", type=int, default=1, help="torch/OpenCV threads (the CPU is shared)")
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    methods = available() if args.methods == "all" else parse_names(args.methods)
    print(f"methods: {', '.join(methods)}", file=sys.stderr)
    config = BenchmarkConfig(
        lfw_root=args.lfw,
        methods=methods,
        comparators=parse_names(args.comparators),
        cache_dir=args.cache,
        folds=parse_folds(args.folds),
        selection_cap=args.selection_cap,
        selection_identities=args.selection_identities,
        impostors=args.impostors,
        genuine_cap=args.genuine_cap,
    )
    started = time.time()
    outputs = run_erc(config, args.out, log=lambda message: print(f"[{time.time() - started:7.0f}s] {message}", file=sys.stderr, flush=True))
    print(outputs.markdown_path.read_text())
    print(f"wrote {outputs.json_path}, {outputs.markdown_path} and {len(outputs.charts)} charts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
