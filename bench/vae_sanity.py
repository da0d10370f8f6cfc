"""Sanity check of the shipped VAE quality: what it ranks high and low, and its score ranges.

    python bench/vae_sanity.py [--lfw-images 400]
    SEALSHOT_VAE_WEIGHTS=model.pt python bench/vae_sanity.py    # a model of your own

- LFW (the evaluation set; never trained on): the largest face of one image per person
  for ``--lfw-images`` people, scored; percentiles, and Spearman correlations with simple
  image statistics (sharpness, brightness, contrast, face size).
- Synthetic degradations of 32 of those crops: the mean score per level. Blur, downscaling,
  darkening and noise are the kinds the VAE's denoising criterion trains with (at random levels);
  JPEG, motion blur, lower contrast and a grey band over the mouth are held out.
- The shared videos: every few frames, every face, scored; percentiles per clip.
- Both the paper's score (``vae``, log RP) and the complexity-corrected ``vae-ratio``.
- bench/results/vae_sanity.png: LFW crops sorted by each score, best to worst; reconstructions
  (input, decoded mean at z = mu_z, decoded sigma_x) of the best, two middle and the worst crop
  by log RP. bench/results/vae_degradation.png: the degradation curves.
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

from sealshot.detect import Detections, FaceBatch, MTCNNDetector, align_detections  # noqa: E402
from sealshot.detect.stills import FacePolicy, chosen_face, read_rgb  # noqa: E402
from sealshot.quality.vae import VAEComplexityRatio, VAEQuality, default_vae, gray_to_tensor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)


def batch(gray: np.ndarray, boxes: np.ndarray | None = None) -> FaceBatch:
    n = len(gray)
    boxes = np.zeros((n, 4), np.float32) if boxes is None else np.asarray(boxes, np.float32)
    detections = Detections(boxes, np.ones(n, np.float32), np.zeros((n, 5, 2), np.float32))
    return FaceBatch.from_crops(np.zeros((n, 112, 112, 3), np.uint8), gray, detections)


def lfw_crops(detector: MTCNNDetector, count: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    people = sorted(p for p in (SHARED / "lfw" / "images").iterdir() if p.is_dir())
    step = max(1, len(people) // count)
    grays, boxes, names = [], [], []
    for person in people[::step][:count]:
        path = sorted(person.glob("*.jpg"))[0]
        image = read_rgb(path)
        largest = chosen_face(detector.detect([image])[0], image.shape, FacePolicy.LARGEST)
        if not len(largest):
            continue
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
    if name == "JPEG quality*" and level < 100:
        return cv2.imdecode(cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, int(level)])[1], cv2.IMREAD_GRAYSCALE)
    if name == "motion blur px*" and level > 1:
        kernel = np.zeros((int(level), int(level)), np.float32)
        kernel[int(level) // 2, :] = 1.0 / level
        return cv2.filter2D(gray, -1, kernel, borderType=cv2.BORDER_REFLECT)
    if name == "contrast factor*":
        return np.clip((gray.astype(np.float32) - 128) * level + 128.5, 0, 255).astype(np.uint8)
    if name == "occluded rows*" and level:
        occluded = gray.copy()
        occluded[64 - int(level) :] = 128  # a grey band over the mouth and chin
        return occluded
    return gray


# The first four are the degradations the VAE's denoising criterion trains with (at other random
# levels); those marked * are held out: never seen in training.
LEVELS = {
    "blur sigma": (0, 0.5, 1, 2, 4),
    "downscale factor": (1, 1.5, 2, 4, 8),
    "brightness factor": (1.0, 0.8, 0.6, 0.35, 0.15),
    "noise sigma": (0, 4, 8, 16, 32),
    "JPEG quality*": (100, 60, 30, 15, 8),
    "motion blur px*": (1, 3, 5, 9, 13),
    "contrast factor*": (1.0, 0.8, 0.6, 0.4, 0.25),
    "occluded rows*": (0, 8, 16, 24, 32),
}


def video_scores(detector: MTCNNDetector, methods: dict[str, object], path: Path, every: int, max_frames: int) -> dict[str, object]:
    import av

    scores: dict[str, list[float]] = {name: [] for name in methods}
    sizes: list[float] = []
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
            for name, method in methods.items():
                scores[name].extend(method.score(batch(aligned.gray, detections.boxes)))
            sizes.extend(np.sqrt(detections.widths * detections.heights))
    result: dict[str, object] = {"faces": len(sizes)}
    for name, values in scores.items():
        if values:
            result[name] = {"percentiles": {str(p): round(float(v), 1) for p, v in zip(PERCENTILES, np.percentile(values, PERCENTILES))}}
            if len(values) > 2:
                result[name]["spearman_with_face_size"] = round(float(spearmanr(values, sizes)[0]), 3)
    return result


def sorted_grid(figure: plt.Figure, gray: np.ndarray, scores: np.ndarray, rows: int, cols: int, first_row: int, total_rows: int) -> None:
    order = np.argsort(-scores)
    picks = order[np.linspace(0, len(order) - 1, rows * cols).round().astype(int)]
    for k, i in enumerate(picks):
        axis = figure.add_subplot(total_rows, cols, first_row * cols + k + 1)
        axis.imshow(gray[i], cmap="gray", vmin=0, vmax=255)
        axis.set_title(f"{scores[i]:.0f}", fontsize=8)
        axis.axis("off")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw-images", type=int, default=400)
    parser.add_argument("--video-every", type=int, default=10, help="score every n-th frame of each clip")
    parser.add_argument("--video-max-frames", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)

    detector = MTCNNDetector()
    model = default_vae()
    vae = VAEQuality(model)
    methods = {"vae": vae, "vae-ratio": VAEComplexityRatio(vae)}
    gray, boxes, names = lfw_crops(detector, args.lfw_images)
    statistics = {
        "sharpness (log Laplacian variance)": [np.log1p(cv2.Laplacian(g, cv2.CV_64F).var()) for g in gray],
        "brightness (mean grey)": gray.reshape(len(gray), -1).mean(1),
        "contrast (grey std)": gray.reshape(len(gray), -1).std(1),
        "face size (box side, px)": np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])),
    }
    subset = gray[:32]
    scores, report = {}, {}
    for method_name, method in methods.items():
        scores[method_name] = method.score(batch(gray, boxes))
        order = np.argsort(-scores[method_name])
        curves = {
            name: [round(float(np.mean(method.score(batch(np.stack([degradations(g, name, level, i) for i, g in enumerate(subset)]))))), 1) for level in levels]
            for name, levels in LEVELS.items()
        }
        report[method_name] = {
            "lfw": {
                "faces": len(gray),
                "percentiles": {str(p): round(float(v), 1) for p, v in zip(PERCENTILES, np.percentile(scores[method_name], PERCENTILES))},
                "spearman": {name: round(float(spearmanr(scores[method_name], values)[0]), 3) for name, values in statistics.items()},
                "best": [names[i] for i in order[:5]],
                "worst": [names[i] for i in order[-5:]],
            },
            "degradations_mean_score_32_lfw_crops": {name: dict(zip(map(str, LEVELS[name]), curve)) for name, curve in curves.items()},
        }
    videos = {}
    for clip in [SHARED / "video" / "arcade-walkers-1080p.mp4", *sorted((SHARED / "video" / "talking-heads").glob("*.mp4"))]:
        if clip.exists():
            videos[clip.name] = video_scores(detector, methods, clip, args.video_every, args.video_max_frames)
            print(clip.name, videos[clip.name])
    report["videos"] = videos

    rows, cols = 4, 10
    figure = plt.figure(figsize=(16, 15))
    total_rows = 2 * rows + 3
    sorted_grid(figure, gray, scores["vae"], rows, cols, 0, total_rows)
    sorted_grid(figure, gray, scores["vae-ratio"], rows, cols, rows + 1, total_rows)
    figure.text(0.5, 1 - 0.2 / total_rows, "vae (log RP, the paper's score): 40 LFW crops from best (top left) to worst", ha="center")
    figure.text(0.5, 1 - (rows + 1.05) / total_rows, "vae-ratio (log RP corrected by PNG code length): best to worst", ha="center")
    order = np.argsort(-scores["vae"])
    with torch.no_grad():
        chosen = [order[0], order[len(order) // 3], order[2 * len(order) // 3], order[-1]]
        mu_z, _ = model.encode(gray_to_tensor(gray[chosen]))
        mu_x, sigma_x = model.decode(mu_z)
    for k, i in enumerate(chosen):
        panels = [(gray[i] / 255.0, f"input {scores['vae'][i]:.0f}", (0, 1)), (mu_x[k, 0].numpy(), "mean at z=mu_z", (0, 1)), (sigma_x[k, 0].numpy(), "sigma_x", (0, float(sigma_x.max())))]
        for j, (image, label, limits) in enumerate(panels):
            position = (2 * rows + 1) * cols + 1 + (k % 2) * 3 + j + (k // 2) * cols
            axis = figure.add_subplot(total_rows, cols, position)
            axis.imshow(image, cmap="gray", vmin=limits[0], vmax=limits[1])
            axis.set_title(label, fontsize=7)
            axis.axis("off")
    figure.tight_layout(rect=(0, 0, 1, 0.99))
    RESULTS.mkdir(parents=True, exist_ok=True)
    figure.savefig(RESULTS / "vae_sanity.png", dpi=72)

    curves_figure, axes = plt.subplots(1, len(methods), figsize=(11, 4))
    for axis, method_name in zip(axes, methods):
        for name, curve in report[method_name]["degradations_mean_score_32_lfw_crops"].items():
            axis.plot(range(len(curve)), list(curve.values()), marker="o", label=f"{name} {tuple(curve)}")
        axis.set_title(f"{method_name}: mean score of 32 LFW crops")
        axis.set_xlabel("degradation level (0 = none)")
        axis.legend(fontsize=7)
    curves_figure.tight_layout()
    curves_figure.savefig(RESULTS / "vae_degradation.png", dpi=72)

    (RESULTS / "vae_scores.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# VAE quality on LFW and the shared videos (nats; higher is better)", ""]
    for method_name in methods:
        lfw = report[method_name]["lfw"]
        lines += [
            f"## {method_name}",
            "",
            "| set | faces | " + " | ".join(f"p{p}" for p in PERCENTILES) + " | Spearman with face size |",
            "|---|---:|" + "---:|" * len(PERCENTILES) + "---:|",
            f"| LFW (one image per person) | {lfw['faces']} | " + " | ".join(f"{v:.0f}" for v in lfw["percentiles"].values()) + f" | {lfw['spearman']['face size (box side, px)']:+.2f} |",
            *[
                f"| {clip} (every {args.video_every}th frame) | {v['faces']} | "
                + " | ".join(f"{x:.0f}" for x in v[method_name]["percentiles"].values())
                + f" | {v[method_name].get('spearman_with_face_size', float('nan')):+.2f} |"
                for clip, v in videos.items()
                if method_name in v
            ],
            "",
            "Spearman correlation with simple statistics on LFW: " + ", ".join(f"{name} {value:+.2f}" for name, value in lfw["spearman"].items()),
            "",
            "Mean score of 32 LFW crops per synthetic degradation level (* = held out: not among the degradations",
            "the VAE's denoising criterion trains with; 'falls' = lower at every step):",
            "",
            *[
                f"- {name}: " + ", ".join(f"{level}: {value:.0f}" for level, value in curve.items())
                + (" (falls)" if all(a > b for a, b in zip(list(curve.values()), list(curve.values())[1:])) else " (does not fall at every step)")
                for name, curve in report[method_name]["degradations_mean_score_32_lfw_crops"].items()
            ],
            "",
        ]
    (RESULTS / "vae_scores.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
