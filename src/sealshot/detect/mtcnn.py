"""MTCNN face detector (Zhang et al. 2016) in plain PyTorch.

The P-, R- and O-Net weights are the MIT-licensed ones shipped in the
facenet-pytorch 2.6.0 wheel (see ``weights/LICENSE-facenet-pytorch.md``); the
network definitions and the cascade are our own, with no torchvision.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Callable, Sequence

import cv2
import numpy as np
import torch
from torch import nn

from sealshot.detect.config import MTCNNConfig
from sealshot.detect.lanes import Lanes, split_by_weight, split_evenly
from sealshot.detect.types import Detections
from sealshot.errors import loading_model

_WEIGHTS = "sealshot.detect.weights"


class PNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, 3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, 3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, 3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.prelu1(self.conv1(x))
        x = self.pool1(x)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        return self.conv4_2(x), torch.softmax(self.conv4_1(x), dim=1)


class RNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, 3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, 3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, 2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        # The original Caffe weights flatten in (W, H, C) order.
        x = x.permute(0, 3, 2, 1).contiguous().flatten(1)
        x = self.prelu4(self.dense4(x))
        return self.dense5_2(x), torch.softmax(self.dense5_1(x), dim=1)


class ONet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, 3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, 2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).contiguous().flatten(1)
        x = self.prelu5(self.dense5(x))
        return self.dense6_2(x), self.dense6_3(x), torch.softmax(self.dense6_1(x), dim=1)


def _load(net: nn.Module, filename: str) -> nn.Module:
    with resources.as_file(resources.files(_WEIGHTS) / filename) as path, loading_model(f"MTCNN's {filename}", path):
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    # Channels-last roughly halves the CPU time of these thin convolutions (oneDNN's preferred layout).
    return net.eval().to(memory_format=torch.channels_last)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, best first.

    ``mode='union'`` is IoU (OpenCV's C++ implementation); ``mode='min'`` divides the
    intersection by the smaller area, as MTCNN's last stage does.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    if mode == "union":
        xywh = np.c_[boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]].astype(np.float32)
        return np.asarray(cv2.dnn.NMSBoxes(xywh, scores.astype(np.float32), 0.0, threshold), dtype=np.int64).reshape(-1)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1, 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1, 0, None)
        inter = w * h
        order = rest[inter / np.minimum(areas[i], areas[rest]) <= threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, groups: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """NMS independently per group (frame), by offsetting each group's boxes far apart."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = groups.astype(boxes.dtype) * (float(boxes[:, :4].max()) + 1)
    return nms(boxes[:, :4] + offsets[:, None], scores, threshold, mode)


def _square(boxes: np.ndarray) -> np.ndarray:
    boxes = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    boxes[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    boxes[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    boxes = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    boxes[:, 0] += offsets[:, 0] * w
    boxes[:, 1] += offsets[:, 1] * h
    boxes[:, 2] += offsets[:, 2] * w
    boxes[:, 3] += offsets[:, 3] * h
    return boxes


def _normalise(images_uint8: np.ndarray) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 → ``(N, 3, H, W)`` float in [-1, 1] as MTCNN expects."""
    # The NHWC array viewed as NCHW is already channels-last in memory: no copy.
    return (torch.from_numpy(np.ascontiguousarray(images_uint8)).permute(0, 3, 1, 2).float() - 127.5) * 0.0078125


def _crop_patches(frames: Sequence[np.ndarray], frame_index: np.ndarray, boxes: np.ndarray, size: int) -> torch.Tensor:
    """Cut square boxes (zero-padded where they leave the frame), resize to ``size``, normalise."""
    patches = np.zeros((len(boxes), size, size, 3), np.uint8)
    for k, (b, box) in enumerate(zip(frame_index.tolist(), np.trunc(boxes[:, :4]).astype(int).tolist())):
        frame = frames[b]
        height, width = frame.shape[:2]
        x1, y1, x2, y2 = box
        x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
        if sx2 <= sx1 or sy2 <= sy1:
            continue
        patch = frame[sy1:sy2, sx1:sx2]
        if (sx1, sy1, sx2, sy2) != (x1, y1, x2, y2):
            padded = np.zeros((y2 - y1, x2 - x1, 3), np.uint8)
            padded[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = patch
            patch = padded
        patches[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return _normalise(patches)


SPLIT_AT_LEAST = 24
"""R- and O-Net candidates are split across lanes only from this many on (a frame's few refined tracks are not)."""


class MTCNNDetector:
    """Three-stage cascade; each stage runs batched over every frame passed in.

    With ``lanes`` (``sealshot.detect.lanes``), a full detection's work is shared between their threads:
    P-Net's pyramid levels (by area) and R- and O-Net's candidates (in contiguous halves). The results are
    the same as on one thread.
    """

    shares_lanes = True

    def __init__(self, config: MTCNNConfig | None = None, threads: int | None = None, lanes: Lanes | None = None) -> None:
        self.config = config or MTCNNConfig()
        self.lanes = lanes or Lanes(1)
        if threads:
            torch.set_num_threads(threads)
        self.pnet = _load(PNet(), "pnet.pt")
        self.rnet = _load(RNet(), "rnet.pt")
        self.onet = _load(ONet(), "onet.pt")

    def on_lanes(self, lanes: Lanes) -> "MTCNNDetector":
        """This detector (the same networks and settings), its full detections shared between ``lanes``."""
        other = copy.copy(self)
        other.lanes = lanes
        return other

    @torch.inference_mode()
    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """Detect faces in RGB uint8 frames. Returns one ``Detections`` per frame.

        Frames of one shape share each pyramid level's P-Net pass; R- and
        O-Net run once over the candidates of all frames together.
        """
        if len(frames) == 0:
            return []
        if len({f.shape for f in frames}) != 1:
            return [d for f in frames for d in self.detect([f])]
        scale_back = 1.0
        height, width = frames[0].shape[:2]
        max_side = min((side for side in (self.config.detect_max_side, self.config.largest_side) if side), default=None)
        if max_side and max(height, width) > max_side:
            scale_back = max(height, width) / max_side
            height, width = round(height / scale_back), round(width / scale_back)
        # Only P-Net's pyramid needs the reduced frame; R- and O-Net cut their fixed-size patches from the full
        # frame, so boxes and landmarks keep full-resolution precision at the same cost.
        boxes, frame_index = self._stage_one(frames, height, width)
        if len(boxes):
            boxes[:, :4] *= scale_back
            boxes, frame_index = self._stage_two(frames, boxes, frame_index)
        landmarks = np.zeros((0, 5, 2), np.float32)
        if len(boxes):
            boxes, frame_index, landmarks = self._stage_three(frames, boxes, frame_index)
        return [self._result(boxes, landmarks, frame_index == b) for b in range(len(frames))]

    @torch.inference_mode()
    def refine(self, frame: np.ndarray, boxes: np.ndarray) -> Detections:
        """Run only R- and O-Net on candidate boxes (e.g. a tracker's predictions).

        This is the cheap path between full detections: no image pyramid.
        """
        if len(boxes) == 0:
            return Detections.empty()
        candidates = np.c_[_square(np.asarray(boxes, np.float32)[:, :4]), np.ones(len(boxes), np.float32)]
        frame_index = np.zeros(len(candidates), np.int64)
        frames = [frame]
        boxes_out, frame_index = self._stage_two(frames, candidates, frame_index)
        landmarks = np.zeros((0, 5, 2), np.float32)
        if len(boxes_out):
            boxes_out, frame_index, landmarks = self._stage_three(frames, boxes_out, frame_index)
        return self._result(boxes_out, landmarks, frame_index == 0)

    @staticmethod
    def _result(boxes: np.ndarray, landmarks: np.ndarray, selected: np.ndarray) -> Detections:
        if len(boxes) == 0:
            return Detections.empty()
        return Detections(
            boxes=boxes[selected, :4].astype(np.float32),
            scores=boxes[selected, 4].astype(np.float32),
            landmarks=landmarks[selected].astype(np.float32),
        )

    def _scales(self, height: int, width: int) -> list[float]:
        m = 12.0 / self.config.min_face_size
        side = min(height, width) * m
        scales, scale = [], m
        while side >= 12:
            scales.append(scale)
            scale *= self.config.scale_factor
            side *= self.config.scale_factor
        return scales

    @staticmethod
    def _resized(images: Sequence[np.ndarray], width: int, height: int, scale: float) -> list[np.ndarray]:
        """The images area-averaged to pyramid level ``scale`` of a ``width``×``height`` frame."""
        size = (int(width * scale + 1), int(height * scale + 1))
        return [cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in images]

    def _levels(self, frames: Sequence[np.ndarray], height: int, width: int, scales: list[float]) -> Callable[[int], np.ndarray]:
        """P-Net's input at level ``k`` of the ``height``×``width`` (reduced) frame, ``(N, h, w, 3)``. From the reduced
        frame, each level is resized when asked for, in the lane that runs it; with ``config.chained_pyramid``, each
        is averaged from the level before it (about a third of the cost), so they are all made here, in order."""
        if self.config.chained_pyramid:
            chained, source = [], list(frames)
            for scale in scales:
                source = self._resized(source, width, height, scale)
                chained.append(np.stack(source))
            return chained.__getitem__
        reduced = list(frames)
        if frames[0].shape[:2] != (height, width):
            reduced = [cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA) for image in frames]
        return lambda k: np.stack(self._resized(reduced, width, height, scales[k]))

    def _stage_one(self, frames: Sequence[np.ndarray], height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        scales = self._scales(height, width)
        level = self._levels(frames, height, width, scales)
        groups = split_by_weight([scale * scale for scale in scales], self.lanes.count)
        found = self.lanes.map(lambda group: [self._pnet_level(level(k), scales[k]) for k in group], groups)
        by_level = {k: level for group, levels in zip(groups, found) for k, level in zip(group, levels)}
        kept = [level for level in (by_level[k] for k in range(len(scales))) if level is not None]
        all_boxes = [boxes for boxes, _ in kept]
        all_index = [index for _, index in kept]
        if not all_boxes:
            return np.zeros((0, 5), np.float32), np.zeros(0, np.int64)
        boxes, index = np.concatenate(all_boxes), np.concatenate(all_index)
        keep = batched_nms(boxes, boxes[:, 4], index, 0.7)
        boxes, index = boxes[keep], index[keep]
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        refined = np.stack(
            [
                boxes[:, 0] + boxes[:, 5] * w,
                boxes[:, 1] + boxes[:, 6] * h,
                boxes[:, 2] + boxes[:, 7] * w,
                boxes[:, 3] + boxes[:, 8] * h,
                boxes[:, 4],
            ],
            axis=1,
        )
        return _square(refined), index

    @torch.inference_mode()
    def _pnet_level(self, level: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray] | None:
        """P-Net on one pyramid level (``(N, h, w, 3)``): its candidate boxes (after NMS within the level) and their frames."""
        offsets, probs = self.pnet(_normalise(level))
        face = probs[:, 1].numpy()
        idx = np.argwhere(face >= self.config.thresholds[0])
        if len(idx) == 0:
            return None
        score = face[idx[:, 0], idx[:, 1], idx[:, 2]]
        reg = offsets.numpy().transpose(0, 2, 3, 1)[idx[:, 0], idx[:, 1], idx[:, 2]]
        xy = idx[:, [2, 1]].astype(np.float32)
        q1 = np.floor((2 * xy + 1) / scale)
        q2 = np.floor((2 * xy + 12) / scale)
        boxes = np.concatenate([q1, q2, score[:, None], reg], axis=1).astype(np.float32)
        keep = batched_nms(boxes, boxes[:, 4], idx[:, 0], 0.5)
        return boxes[keep], idx[keep, 0]

    def _run_on_patches(self, net: nn.Module, frames: Sequence[np.ndarray], index: np.ndarray, boxes: np.ndarray, size: int) -> list[np.ndarray]:
        """``net`` on the patches of ``boxes``, split across the lanes when there are enough of them."""

        @torch.inference_mode()
        def run(rows: np.ndarray) -> list[np.ndarray]:
            return [t.numpy() for t in net(_crop_patches(frames, index[rows], boxes[rows], size))]

        if self.lanes.count == 1 or len(boxes) < SPLIT_AT_LEAST:
            return run(np.arange(len(boxes)))
        parts = self.lanes.map(run, split_evenly(len(boxes), self.lanes.count))
        return [np.concatenate(outputs) for outputs in zip(*parts)]

    def _stage_two(self, frames: Sequence[np.ndarray], boxes: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        offsets, probs = self._run_on_patches(self.rnet, frames, index, boxes, 24)
        score = probs[:, 1]
        ok = score > self.config.thresholds[1]
        boxes = np.c_[boxes[ok, :4], score[ok]]
        index, offsets = index[ok], offsets[ok]
        keep = batched_nms(boxes, boxes[:, 4], index, 0.7)
        return _square(_regress(boxes[keep], offsets[keep])), index[keep]

    def _stage_three(
        self, frames: Sequence[np.ndarray], boxes: np.ndarray, index: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        offsets, points, probs = self._run_on_patches(self.onet, frames, index, boxes, 48)
        score = probs[:, 1]
        ok = score > self.config.thresholds[2]
        boxes = np.c_[boxes[ok, :4], score[ok]]
        index, offsets, points = index[ok], offsets[ok], points[ok]
        w = boxes[:, 2] - boxes[:, 0] + 1
        h = boxes[:, 3] - boxes[:, 1] + 1
        xs = w[:, None] * points[:, :5] + boxes[:, 0:1] - 1
        ys = h[:, None] * points[:, 5:] + boxes[:, 1:2] - 1
        landmarks = np.stack([xs, ys], axis=2).astype(np.float32)
        boxes = _regress(boxes, offsets)
        keep = batched_nms(boxes, boxes[:, 4], index, 0.7, mode="min")
        return boxes[keep], index[keep], landmarks[keep]
