"""A harder, video-like test of selection: LFW pseudo-tracks with realistic degradations, and a
cross-quality comparison set (as XQLFW: the two images of a pair differ in quality).

From LFW identities with at least 6 images, each image is degraded once per *family* at a severity
that moves along a trajectory over the identity's images (a person walking through light and shadow,
away from the camera, ...): severities run linearly from a random start to a random end in [0, 1]
over the images in a random order. Faces are detected on the clean image and the degradation is
applied to the whole image, so every copy of an image has the same box and landmarks.

Degradation families (our own OpenCV/numpy code, independent of ``sealshot.train.degrade``):

============  =========================================================  ==========================
family        what (severity s in [0, 1])                                in any training?
============  =========================================================  ==========================
light         directional light: a shadow ramp across the face at a       cr-distilled (its own side
              random angle, shadow side down to 1 − 0.9 s, plus dimming  light, ``shade``)
lowlight      brightness × (1 − 0.88 s), then sensor noise σ = 6 s        VAE, cr-distilled (darkening)
motion        linear motion blur, 1 + 20 s px at a random angle           held out
defocus       disk (pill-box) blur of radius 0.5 + 6 s px                 held out (both saw Gaussian blur)
lowres        area downscale by 1 + 9 s, bicubic back (a distant face)    VAE, cr-distilled (downscaling)
noise         additive Gaussian noise, σ = 40 s grey levels              VAE, cr-distilled (noise)
jpeg          JPEG at quality 90 − 85 s                                  cr-distilled (JPEG 5–60)
occlusion     a grey or dark band over 10–60 % of the face box            held out
              (mouth/chin or eyes), 0.1 + 0.5 s
============  =========================================================  ==========================

"In any training" refers to the shipped models: the VAE's denoising criterion uses Gaussian blur,
downscaling, darkening and noise on CelebA; ``cr-distilled``'s training (``sealshot.train.distill``, its
own code) adds a side light and JPEG to those; the recognition-based heads saw clean CelebA only.

Selection: for identity i and family f, each clean image is the reference in turn (an enrolment
photo) and the identity's other images, degraded with f, form the track; the ``mixed`` tracks take
each frame's family at random. A method picks the track image of highest quality; it matches when its
similarity to the reference reaches the FMR = 1e-3 threshold of the cross-quality impostors.

Cross-quality comparisons: every (clean image, degraded image) pair of one identity (different
images) is genuine; (clean, degraded) pairs of different identities are impostors. ERCs and pAUC as
in the LFW benchmark (``sealshot.evaluate.erc``), overall and per family.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

FAMILIES = ("light", "lowlight", "motion", "defocus", "lowres", "noise", "jpeg", "occlusion")
HELD_OUT = ("motion", "defocus", "occlusion")
"""Families that no shipped model saw in training (see the module docstring)."""
MIXED = "mixed"
CLEAN = "clean"


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0x7FFFFFFF for k in keys])


def _uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def directional_light(image: np.ndarray, box: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(box[2] - box[0], box[3] - box[1]) / 2
    along = ((xs - cx) * np.cos(angle) + (ys - cy) * np.sin(angle)) / max(half, 1.0)
    ramp = np.clip((along + 1) / 2, 0, 1)  # 0 on the lit side of the face, 1 on the shadow side
    gain = (1 - 0.9 * severity * ramp) * (1 - 0.3 * severity)
    return _uint8(image.astype(np.float32) * gain[..., None])


def low_light(image: np.ndarray, box: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    dark = image.astype(np.float32) * (1 - 0.88 * severity)
    return _uint8(dark + rng.normal(0, 6 * severity, image.shape))


def motion_blur(image: np.ndarray, box: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    length = 1 + 20 * severity
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    kernel[size // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (size, size))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6), borderType=cv2.BORDER_REFLECT)


def defocus(image: np.ndarray, box: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    radius = 0.5 + 6 * severity
    size = int(np.ceil(radius)) * 2 + 1
    ys, xs = np.mgrid[0:size, 0:size] - size // 2
    kernel = (xs**2 + ys**2 <= radius**2).astype(np.float32)
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def low_resolution(image: np.ndarray, box: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    factor = 1 + 9 * severity
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, round(width / factor)), max(1, round(height / factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def noise(image: np.ndarray, box: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    return _uint8(image.astype(np.float32) + rng.normal(0, 40 * severity, image.shape))


def jpeg(image: np.ndarray, box: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    quality = int(round(90 - 85 * severity))
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def occlusion(image: np.ndarray, box: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    x1, y1, x2, y2 = box[:4]
    share = 0.1 + 0.5 * severity
    band = share * (y2 - y1)
    out = image.copy()
    if rng.random() < 0.5:  # a mask or scarf over mouth and chin
        top, bottom = y2 - band, y2
    else:  # sunglasses or a cap's shadow over the eyes
        centre = y1 + 0.38 * (y2 - y1)
        top, bottom = centre - band / 2, centre + band / 2
    colour = rng.choice([40, 110, 170]) + rng.integers(-20, 20, 3)
    rows = slice(max(0, int(top)), max(0, int(bottom)))
    cols = slice(max(0, int(x1 - 0.05 * (x2 - x1))), max(0, int(x2 + 0.05 * (x2 - x1))))
    out[rows, cols] = np.clip(colour, 0, 255).astype(np.uint8)
    return out


DEGRADE: dict[str, Callable[[np.ndarray, np.ndarray, float, np.random.Generator], np.ndarray]] = {
    "light": directional_light,
    "lowlight": low_light,
    "motion": motion_blur,
    "defocus": defocus,
    "lowres": low_resolution,
    "noise": noise,
    "jpeg": jpeg,
    "occlusion": occlusion,
}


def degrade(image: np.ndarray, box: np.ndarray, family: str, severity: float, seed: int) -> np.ndarray:
    """One degraded copy of an RGB uint8 image (same size), reproducible from ``seed``."""
    if severity <= 0:
        return image.copy()
    return DEGRADE[family](image, np.asarray(box, np.float32), float(severity), _rng(seed, FAMILIES.index(family)))


@dataclass(frozen=True)
class CrossQualitySet:
    """The base images (clean) and their degraded copies.

    Item ``j`` of the set is ``(image index, family)``; ``family`` is ``clean`` for the base images.
    ``severity[j]`` is the trajectory's severity of that copy (0 for clean ones).
    """

    labels: np.ndarray  # per base image
    image_of: np.ndarray  # per item: its base image
    family_of: np.ndarray  # per item: family name
    severity: np.ndarray  # per item

    def items(self, family: str) -> np.ndarray:
        return np.flatnonzero(self.family_of == family)

    def item(self, image: int, family: str) -> int:
        return int(np.flatnonzero((self.image_of == image) & (self.family_of == family))[0])


def trajectory_severities(labels: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Per family, the severity of each base image: a linear ramp over the identity's images in a random order."""
    out: dict[str, np.ndarray] = {}
    for family in FAMILIES:
        severity = np.zeros(len(labels))
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            rng = _rng(seed, int(label), FAMILIES.index(family), 7)
            start, end = rng.random(2)
            severity[rng.permutation(members)] = np.linspace(start, end, len(members))
        out[family] = severity
    return out


def build_set(labels: np.ndarray, seed: int) -> CrossQualitySet:
    severities = trajectory_severities(labels, seed)
    image_of, family_of, severity = [np.arange(len(labels))], [np.full(len(labels), CLEAN, object)], [np.zeros(len(labels))]
    for family in FAMILIES:
        image_of.append(np.arange(len(labels)))
        family_of.append(np.full(len(labels), family, object))
        severity.append(severities[family])
    return CrossQualitySet(np.asarray(labels), np.concatenate(image_of), np.concatenate(family_of).astype(str), np.concatenate(severity))


@dataclass(frozen=True)
class SelectionTrials:
    """Trials of one family: reference item (clean) and track items (degraded)."""

    reference: np.ndarray
    tracks: tuple[np.ndarray, ...]


def selection_trials(data: CrossQualitySet, family: str, seed: int) -> SelectionTrials:
    references, tracks = [], []
    for label in np.unique(data.labels):
        members = np.flatnonzero(data.labels == label)
        for k, reference in enumerate(members):
            others = np.delete(members, k)
            if family == MIXED:
                rng = _rng(seed, int(reference), 11)
                families = rng.choice(FAMILIES, len(others))
                track = [data.item(int(image), str(f)) for image, f in zip(others, families)]
            else:
                track = [data.item(int(image), family) for image in others]
            references.append(data.item(int(reference), CLEAN))
            tracks.append(np.asarray(track))
    return SelectionTrials(np.asarray(references), tuple(tracks))


def cross_pairs(data: CrossQualitySet, family: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clean item, degraded item, genuine) for every pair of different base images; ``family`` None: all families."""
    clean = data.items(CLEAN)
    degraded = np.flatnonzero((data.family_of != CLEAN) & ((data.family_of == family) if family else True))
    a = np.repeat(clean, len(degraded))
    b = np.tile(degraded, len(clean))
    different = data.image_of[a] != data.image_of[b]
    a, b = a[different], b[different]
    return a, b, data.labels[data.image_of[a]] == data.labels[data.image_of[b]]


def base_images(lfw_root: Path, identities: int, per_identity: int, seed: int) -> tuple[list[Path], np.ndarray]:
    """``per_identity`` images (file order) of ``identities`` LFW people with at least 6 images, a seeded sample."""
    from sealshot.evaluate.lfw import LFW

    people = {name: files for name, files in LFW(lfw_root).people().items() if len(files) >= 6}
    names = sorted(np.random.default_rng(seed).choice(sorted(people), min(identities, len(people)), replace=False))
    paths: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(names):
        paths += people[name][:per_identity]
        labels += [label] * min(per_identity, len(people[name]))
    return paths, np.asarray(labels, np.int64)


def degraded_images(images: Sequence[np.ndarray], boxes: np.ndarray, data: CrossQualitySet, seed: int) -> list[np.ndarray]:
    """Every item of the set as an RGB image (the clean ones are the originals)."""
    out = []
    for j in range(len(data.image_of)):
        image = int(data.image_of[j])
        family = str(data.family_of[j])
        if family == CLEAN:
            out.append(images[image])
        else:
            out.append(degrade(images[image], boxes[image], family, float(data.severity[j]), seed * 100_003 + image))
    return out
