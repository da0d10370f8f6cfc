"""ERC charts: every method on one chart per comparator, comparison set and protocol, with PERFECT and RANDOM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REFERENCE_STYLES = {"PERFECT": dict(color="black", linestyle="--", linewidth=1.5), "RANDOM": dict(color="grey", linestyle=":", linewidth=1.5)}


def plot_erc(curves: dict[str, dict[str, Any]], title: str, path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(7, 4.5), dpi=110)
    palette = plt.get_cmap("tab20")
    methods = [m for m in curves if m not in REFERENCE_STYLES]
    for k, method in enumerate(sorted(methods)):
        curve = curves[method]
        axis.plot(curve["reject"], curve["fnmr"], label=f"{method} (pAUC20 {curve['pauc_20']:.2f})", color=palette(k % 20), linewidth=1.2)
    for method, style in REFERENCE_STYLES.items():
        if method in curves:
            curve = curves[method]
            axis.plot(curve["reject"], curve["fnmr"], label=f"{method} (pAUC20 {curve['pauc_20']:.2f})", **style)
    axis.set_xlabel("fraction of genuine comparisons rejected (lowest quality first)")
    axis.set_ylabel("FNMR")
    axis.set_title(title, fontsize=10)
    axis.set_xlim(0, max(curves[next(iter(curves))]["reject"]))
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def plot_all(result: dict[str, Any], out_dir: Path) -> list[Path]:
    paths = []
    for comparator, by_set in result["erc"].items():
        for set_name, by_protocol in by_set.items():
            for protocol_key, entry in by_protocol.items():
                counts = result["comparison_sets"][set_name]
                title = (
                    f"ERC, {comparator} comparisons, LFW {set_name} set ({counts['genuine']:,} genuine / {counts['impostor']:,} impostor)\n"
                    f"{entry['title']}"
                )
                paths.append(plot_erc(entry["curves"], title, out_dir / f"erc-{comparator}-{set_name}-{protocol_key}.png"))
    return paths
