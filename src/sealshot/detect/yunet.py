"""YuNet (Wu, Peng and Yu 2023), an optional detector much faster than MTCNN: one small network on the whole frame
gives each face's box, five points and a score. MIT-licensed weights ship in ``weights/`` (``LICENSE-yunet.md``);
ONNX Runtime runs them, single-threaded (the pipeline's lanes are the parallelism).

The decoding of the network's outputs (three strides, a score from class and objectness, box and points relative to
each grid cell) is that of OpenCV's ``FaceDetectorYN``, which gives the same detections from the same file. A frame
with heavy pixel noise is smoothed first (``YuNetConfig.denoise_from``), and each face may be given the five points of
MTCNN's O-Net instead of YuNet's own (``YuNetConfig.mtcnn_points``).
"""

from __future__ import annotations

from importlib import resources
from typing import Sequence

import cv2
import numpy as np

from sealshot.detect.config import MTCNNConfig, YuNetConfig
from sealshot.detect.lanes import Lanes
from sealshot.detect.mtcnn import MTCNNDetector, nms
from sealshot.detect.types import Detections, iou_matrix
from sealshot.errors import loading_model

_WEIGHTS = "sealshot.detect.weights"
WEIGHTS_FILE = "yunet-2023mar.onnx"
_STRIDES = (8, 16, 32)
_REFINE_MIN_IOU = 0.3
_POINTS_MIN_IOU = 0.5


class YuNetDetector:
    """``detect`` runs YuNet on each whole frame; ``refine`` does the same and keeps the faces over the boxes given."""

    shares_lanes = False

    def __init__(self, config: YuNetConfig | None = None) -> None:
        import onnxruntime

        self.config = config or YuNetConfig()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        weights = resources.files(_WEIGHTS).joinpath(WEIGHTS_FILE)
        with loading_model("YuNet", weights):
            self._session = onnxruntime.InferenceSession(weights.read_bytes(), options, providers=["CPUExecutionProvider"])
        self._outputs = [output.name for output in self._session.get_outputs()]
        self._points = MTCNNDetector(MTCNNConfig()) if self.config.mtcnn_points else None
        """R- and O-Net, for their five points (``YuNetConfig.mtcnn_points``)."""

    def on_lanes(self, lanes: Lanes) -> "YuNetDetector":
        """This detector: each call runs on the thread that makes it (an ONNX Runtime session may be run from several)."""
        return self

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """Faces in RGB uint8 frames, one ``Detections`` per frame (landmarks in MTCNN's order: the eye on the image's
        left first, then the other, the nose, the mouth corners left and right)."""
        return [self._with_points(frame, self._detect_one(frame)) for frame in frames]

    def refine(self, frame: np.ndarray, boxes: np.ndarray) -> Detections:
        """The faces of a whole-frame detection that overlap ``boxes`` (a tracker's predictions)."""
        found = self._detect_one(frame)
        if len(found) == 0 or len(boxes) == 0:
            return Detections.empty()
        overlap = iou_matrix(found.boxes, np.asarray(boxes, np.float32)[:, :4]).max(axis=1)
        return self._with_points(frame, found[np.flatnonzero(overlap >= _REFINE_MIN_IOU)])

    def _with_points(self, frame: np.ndarray, found: Detections) -> Detections:
        """``found`` with O-Net's five points where ``config.mtcnn_points`` asks for them (only on the faces kept)."""
        return _with_mtcnn_points(self._points, frame, found) if self._points is not None else found

    def _smoothed(self, image: np.ndarray) -> np.ndarray:
        """``image`` smoothed by a Gaussian kernel that grows with its noise, if that reaches ``config.denoise_from``.
        YuNet loses a dim face in pixel noise that a blur removes: a darkened talking head under noise of σ 9 scores
        0.3 (median) as it is and 0.9 once smoothed with a 5-pixel kernel, where clean or bright faces keep their score."""
        if self.config.denoise_from is None:
            return image
        noise = noise_sigma(image)
        if noise < self.config.denoise_from:
            return image
        kernel = 5 if noise < 1.5 * self.config.denoise_from else 7
        return cv2.GaussianBlur(image, (kernel, kernel), 0)

    def _detect_one(self, frame: np.ndarray) -> Detections:
        height, width = frame.shape[:2]
        scale = min(1.0, self.config.max_side / max(height, width))
        resized_w, resized_h = max(1, round(width * scale)), max(1, round(height * scale))
        image = cv2.resize(frame, (resized_w, resized_h), interpolation=cv2.INTER_AREA) if scale < 1.0 else frame
        image = self._smoothed(image)
        padded_w, padded_h = -(-resized_w // 32) * 32, -(-resized_h // 32) * 32
        blob = np.zeros((1, 3, padded_h, padded_w), np.float32)
        blob[0, :, :resized_h, :resized_w] = image[:, :, ::-1].transpose(2, 0, 1)  # the network takes BGR, 0-255
        outputs = dict(zip(self._outputs, self._session.run(self._outputs, {"input": blob})))
        boxes, scores, points = [], [], []
        for stride in _STRIDES:
            columns = padded_w // stride
            score = np.sqrt(np.clip(outputs[f"cls_{stride}"][0, :, 0], 0, 1) * np.clip(outputs[f"obj_{stride}"][0, :, 0], 0, 1))
            cells = np.flatnonzero(score >= self.config.score_threshold)
            if len(cells) == 0:
                continue
            row, column = np.divmod(cells, columns)
            box = outputs[f"bbox_{stride}"][0, cells]
            centre_x, centre_y = (column + box[:, 0]) * stride, (row + box[:, 1]) * stride
            half_w, half_h = np.exp(box[:, 2]) * stride / 2, np.exp(box[:, 3]) * stride / 2
            boxes.append(np.c_[centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h])
            scores.append(score[cells])
            offsets = outputs[f"kps_{stride}"][0, cells].reshape(-1, 5, 2)
            points.append(np.stack([(offsets[:, :, 0] + column[:, None]) * stride, (offsets[:, :, 1] + row[:, None]) * stride], axis=2))
        if not boxes:
            return Detections.empty()
        all_boxes, all_scores, all_points = np.concatenate(boxes), np.concatenate(scores), np.concatenate(points)
        keep = nms(all_boxes, all_scores, self.config.nms_iou)  # best first
        return Detections(
            boxes=(all_boxes[keep] / scale).astype(np.float32),
            scores=all_scores[keep].astype(np.float32),
            landmarks=(all_points[keep] / scale).astype(np.float32),
        )


_NOISE_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise_sigma(image: np.ndarray) -> float:
    """The standard deviation of Gaussian noise in an RGB uint8 image, estimated from its grey copy as Immerkær (1996)
    does ("Fast noise variance estimation"): the mean absolute response to a mask that cancels smooth picture content.
    Clean footage measures 0.2-1.2 at YuNet's 640-pixel scale."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    if height < 3 or width < 3:
        return 0.0
    response = cv2.filter2D(grey, cv2.CV_16S, _NOISE_MASK)[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) * cv2.norm(response, cv2.NORM_L1) / (6 * (height - 2) * (width - 2)))


def _with_mtcnn_points(points: MTCNNDetector, frame: np.ndarray, found: Detections) -> Detections:
    """``found`` with O-Net's five points for each face R- and O-Net confirm on its box; YuNet's box and score stay."""
    if len(found) == 0:
        return found
    confirmed = points.refine(frame, found.boxes)
    if len(confirmed) == 0:
        return found
    overlap = iou_matrix(found.boxes, confirmed.boxes)
    nearest = overlap.argmax(axis=1)
    replaced = overlap[np.arange(len(found)), nearest] >= _POINTS_MIN_IOU
    landmarks = found.landmarks.copy()
    landmarks[replaced] = confirmed.landmarks[nearest[replaced]]
    return Detections(found.boxes, found.scores, landmarks)
