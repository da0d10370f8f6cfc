from __future__ import annotations

import numpy as np

from sealshot.detect.align import align_face, crop_box, similarity_transform, template, to_gray


def test_similarity_transform_recovers_a_known_transform() -> None:
    source = np.array([[10, 10], [30, 12], [20, 25], [12, 35], [29, 36]], np.float64)
    angle, scale, shift = 0.3, 1.7, np.array([5.0, -3.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = scale * source @ rotation.T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_aligned_crop_puts_landmarks_on_the_template() -> None:
    image = np.zeros((200, 200, 3), np.uint8)
    landmarks = template(112) * 1.3 + 20
    for x, y in landmarks.astype(int):
        image[y - 1 : y + 2, x - 1 : x + 2] = 255
    crop = align_face(image, landmarks, 112)
    for x, y in template(112).round().astype(int):
        assert crop[y - 1 : y + 2, x - 1 : x + 2].max() > 100
    small = align_face(image, landmarks, 64)
    assert small.shape == (64, 64, 3)


def test_gray_and_box_crop() -> None:
    rgb = np.zeros((1, 4, 4, 3), np.uint8)
    rgb[..., 1] = 255
    assert to_gray(rgb)[0, 0, 0] == 150  # 0.587 * 255
    frame = np.arange(100 * 100 * 3, dtype=np.uint8).reshape(100, 100, 3)
    crop = crop_box(frame, np.array([90, 90, 110, 110]), margin=0.5)
    assert crop.shape == (20, 20, 3)  # clipped at the frame's edge
