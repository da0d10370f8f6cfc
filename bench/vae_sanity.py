"""Sanity check of the shipped VAE quality: what it ranks high and low, and its score ranges.

    python bench/vae_sanity.py [--lfw-images 400]

- LFW (the evaluation set; never trained on): the largest face of one image per person
  for ``--lfw-images`` people, scored; percentiles, and Spearman correlations with simple
  image statistics (sharpness, brightness, contrast, face size).
- Synthetic degradations of 32 of those crops (blur, downscaling, darkening, noise): the mean score per level.
- The shared videos: every few frames, every face, scored; percentiles per clip.
- bench/results/vae_sanity.png: LFW crops sorted by quality, best to worst, and reconstructions
  (input, decoded mean at z = mu_z, decoded sigma) of the best, two middle and the worst crop;
  plus the degradation curves.
- bench/results/vae_scores.json and .md: the numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from sealshot.detect import MTCNNDetector, align_detections  # noqa: E402
from sealshot.quality import FaceBatch  # noqa: E402
from sealshot.quality.vae import VAEQuality, gray_to_tensor, load_vae  # noqa: E402
from sealshot.train.faces import read_rgb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)


def batch(gray: np.ndarray, boxes: np.ndarray | None = None) -> FaceBatch:
    n = len(gray)
    boxes = np.zeros((n, 4), np.float32) if boxes is None else boxes
    return FaceBatch(np.zeros((n, 112, 112, 3), np.uint8), gray, boxes, np.ones(n, np.float32))


def lfw_crops(detector: MTCNNDetector, count: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    people = sorted(p for p in (SHARED / "lfw" / "images").iterdir() if p.is_dir())
    step = max(1, len(people) // count)
    grays, boxes, names = [], [], []
    for person in people[::step][:count]:
        path = sorted(person.glob("*.jpg"))[0]
        image = read_rgb(path)
        detections = detector.detect([image])[0]
        if not len(detections):
            continue
        largest = detections[int(np.argmax(detections.widths * detections.heights))]
        grays.append(align_detections(image, largest).gray[0])
        boxes.append(largest.boxes[0])
        names.append(path.name)
    return np.stack(grays), np.stack(boxes), names


def degradations(gray: np.ndarray, name: str, level: float, seed: int) -> np.ndarray:
    if name == "blur sigma" and level:
        return cv2.GaussianBlur(gray, (0, 0), level)
    if name == "downscale factor" and level != 1:
        small = cv2.resize(gray, None, fx=1 / level, fy=1 / level, interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (64, 64), interpolation=cv2.INTER_LINEAR)
    if name == "brightness factor":
        return np.clip(gray * level + 0.5, 0, 255).astype(np.uint8)
    if name == "noise sigma" and level:
        return np.clip(gray + np.random.default_rng(seed).normal(0, level, gray.shape) + 0.5, 0, 255).astype(np.uint8)
    return gray


LEVELS = {"blur sigma": (0, 0.5, 1, 2, 4), "downscale factor": (1, 1.5, 2, 4, 8), "brightness factor": (1.0, 0.8, 0.6, 0.35, 0.15), "noise sigma": (0, 4, 8, 16, 32)}


def video_scores(detector: MTCNNDetector, method: VAEQuality, path: Path, every: int, max_frames: int) -> dict[str, object]:
    import av

    scores, sizes = [], []
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= max_frames:
                break
            if index % every:
                continue
            image = frame.to_ndarray(format="rgb24")
            detections = detector.detect([image])[0]
            if not len(detections):
                continue
            aligned = align_detections(image, detections)
            scores.extend(method.score(batch(aligned.gray, detections.boxes)))
            sizes.extend(np.sqrt(detections.widths * detections.heights))
    scores_array = np.array(scores)
    result: dict[str, object] = {"faces": len(scores)}
    if len(scores):
        result["percentiles"] = {str(p): round(float(v), 1) for p, v in zip(PERCENTILES, np.percentile(scores_array, PERCENTILES))}
        if len(scores) > 2:
            result["spearman_with_face_size"] = round(float(spearmanr(scores_array, sizes)[0]), 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw-images", type=int, default=400)
    parser.add_argument("--video-every", type=int, default=10, help="score every n-th frame of each clip")
    parser.add_argument("--video-max-frames", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)

    detector = MTCNNDetector()
    model = load_vae()
    method = VAEQuality(model)
    gray, boxes, names = lfw_crops(detector, args.lfw_images)
    scores = method.score(batch(gray, boxes))
    order = np.argsort(-scores)

    statistics = {
        "sharpness (log Laplacian variance)": [np.log1p(cv2.Laplacian(g, cv2.CV_64F).var()) for g in gray],
        "brightness (mean grey)": gray.reshape(len(gray), -1).mean(1),
        "contrast (grey std)": gray.reshape(len(gray), -1).std(1),
        "face size (box side, px)": np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])),
    }
    report: dict[str, object] = {
        "lfw": {
            "faces": len(scores),
            "percentiles": {str(p): round(float(v), 1) for p, v in zip(PERCENTILES, np.percentile(scores, PERCENTILES))},
            "spearman": {name: round(float(spearmanr(scores, values)[0]), 3) for name, values in statistics.items()},
            "best": [names[i] for i in order[:5]],
            "worst": [names[i] for i in order[-5:]],
        }
    }

    subset = gray[:32]
    curves = {}
    for name, levels in LEVELS.items():
        curves[name] = [round(float(np.mean(method.score(batch(np.stack([degradations(g, name, level, i) for i, g in enumerate(subset)]))))), 1) for level in levels]
    report["degradations_mean_score_32_lfw_crops"] = {name: dict(zip(map(str, LEVELS[name]), curve)) for name, curve in curves.items()}

    videos = {}
    for clip in [SHARED / "video" / "arcade-walkers-1080p.mp4", *sorted((SHARED / "video" / "talking-heads").glob("*.mp4"))]:
        if clip.exists():
            videos[clip.name] = video_scores(detector, method, clip, args.video_every, args.video_max_frames)
            print(clip.name, videos[clip.name])
    report["videos"] = videos

    figure = plt.figure(figsize=(16, 13))
    grid_rows, grid_cols = 5, 10
    picks = order[np.linspace(0, len(order) - 1, grid_rows * grid_cols).round().astype(int)]
    for k, i in enumerate(picks):
        axis = figure.add_subplot(grid_rows + 2, grid_cols, k + 1)
        axis.imshow(gray[i], cmap="gray", vmin=0, vmax=255)
        axis.set_title(f"{scores[i]:.0f}", fontsize=8)
        axis.axis("off")
    with torch.no_grad():
        chosen = [order[0], order[len(order) // 3], order[2 * len(order) // 3], order[-1]]
        x = gray_to_tensor(gray[chosen])
        mu_z, _ = model.encode(x)
        mu_x, sigma_x = model.decode(mu_z)
    for k, i in enumerate(chosen):
        for j, (image, label, limits) in enumerate(
            [(gray[i] / 255.0, f"input {scores[i]:.0f}", (0, 1)), (mu_x[k, 0].numpy(), "mean at z=mu_z", (0, 1)), (sigma_x[k, 0].numpy(), "sigma", (0, float(sigma_x.max())))]
        ):
            axis = figure.add_subplot(grid_rows + 2, grid_cols, grid_rows * grid_cols + 1 + k * 3 + j if k < 3 else grid_rows * grid_cols + 11 + j)
            axis.imshow(image, cmap="gray", vmin=limits[0], vmax=limits[1])
            axis.set_title(label, fontsize=7)
            axis.axis("off")
    axis = figure.add_subplot(grid_rows + 2, 2, (grid_rows + 1) * 2 + 2)
    for name, curve in curves.items():
        axis.plot(range(len(curve)), curve, marker="o", label=f"{name} {LEVELS[name]}")
    axis.set_xlabel("degradation level (0 = original)")
    axis.set_ylabel("mean log RP")
    axis.legend(fontsize=7)
    figure.suptitle("VAE quality (log RP) on LFW: 50 crops from best (top left) to worst (bottom right); reconstructions; degradation curves")
    figure.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    figure.savefig(RESULTS / "vae_sanity.png", dpi=80)

    (RESULTS / "vae_scores.json").write_text(json.dumps(report, indent=2) + "\n")
    lfw = report["lfw"]
    lines = [
        "# VAE quality (log RP, nats; higher is better): score ranges",
        "",
        f"LFW: {lfw['faces']} faces (one image per person).",
        "",
        "| set | faces | " + " | ".join(f"p{p}" for p in PERCENTILES) + " |",
        "|---|---:|" + "---:|" * len(PERCENTILES),
        f"| LFW | {lfw['faces']} | " + " | ".join(f"{v:.0f}" for v in lfw["percentiles"].values()) + " |",
        *[
            f"| {name} | {v['faces']} | " + " | ".join(f"{x:.0f}" for x in v.get("percentiles", {}).values()) + " |"
            for name, v in videos.items()
        ],
        "",
        "Spearman correlation of the score with simple statistics on LFW: "
        + ", ".join(f"{name} {value:+.2f}" for name, value in lfw["spearman"].items()),
        "",
        "Mean score of 32 LFW crops per synthetic degradation level:",
        "",
        *[f"- {name} {LEVELS[name]}: {curve}" for name, curve in curves.items()],
    ]
    (RESULTS / "vae_scores.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
