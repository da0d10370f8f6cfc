"""Still images and the aligned-faces bundle: one reader, one suffix list, one named choice of "the face"."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from sealshot.detect import Detections, FaceBatch
from sealshot.detect.align import align_detections, template
from sealshot.detect.stills import (
    IMAGE_SUFFIXES,
    FacePolicy,
    UnreadableImage,
    choose_face,
    chosen_face,
    faces_of_images,
    image_files,
    list_images,
    load_rgb,
    read_rgb,
)
from sealshot.errors import InputError, SourceError


def _faces(boxes: list[list[float]]) -> Detections:
    boxes_array = np.asarray(boxes, np.float32)
    centres = (boxes_array[:, :2] + boxes_array[:, 2:]) / 2
    sides = (boxes_array[:, 2:] - boxes_array[:, :2]).mean(1, keepdims=True)
    landmarks = centres[:, None, :] + (template(112)[None] - 56) / 112 * sides[:, None, :]
    return Detections(boxes_array, np.linspace(0.9, 0.99, len(boxes)).astype(np.float32), landmarks.astype(np.float32))


def test_largest_and_central_policies_can_disagree() -> None:
    # A big face in the corner and a slightly smaller one in the middle of a 400×400 image.
    faces = _faces([[0, 0, 120, 120], [150, 150, 260, 260]])
    assert choose_face(faces, (400, 400, 3), FacePolicy.LARGEST) == 0
    assert choose_face(faces, (400, 400, 3), FacePolicy.CENTRAL) == 1
    assert choose_face(Detections.empty(), (400, 400, 3), FacePolicy.LARGEST) is None
    assert len(chosen_face(Detections.empty(), (400, 400), FacePolicy.CENTRAL)) == 0
    np.testing.assert_array_equal(chosen_face(faces, (400, 400), FacePolicy.CENTRAL).boxes, faces.boxes[1:2])


def test_reading_decodes_or_says_why(tmp_path: Path) -> None:
    image = np.zeros((8, 6, 3), np.uint8)
    image[..., 0] = 255  # red in RGB
    cv2.imwrite(str(tmp_path / "red.png"), image[..., ::-1])
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a JPEG")
    np.testing.assert_array_equal(read_rgb(tmp_path / "red.png"), image)
    assert read_rgb(tmp_path / "broken.jpg") is None
    with pytest.raises(UnreadableImage, match="broken.jpg") as raised:
        load_rgb(tmp_path / "broken.jpg")
    assert isinstance(raised.value, SourceError)


def test_folders_give_their_images_in_order_and_files_are_taken_as_given(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    (folder / "deeper").mkdir(parents=True)
    for name in ("b.JPG", "a.png", "deeper/c.webp", "notes.txt", "grey.pgm"):
        (folder / name).write_bytes(b"x")
    single = tmp_path / "z.dat"
    single.write_bytes(b"x")
    # One list of suffixes for every reader of stills, the image-folder video source included (netpbm too).
    assert {".jpg", ".png", ".pgm", ".ppm"} <= IMAGE_SUFFIXES and ".txt" not in IMAGE_SUFFIXES
    images = [folder / "a.png", folder / "b.JPG", folder / "deeper" / "c.webp", folder / "grey.pgm"]
    assert image_files([single, folder]) == [single, *images]
    assert list_images([folder, single, folder]) == sorted({single, *images})
    with pytest.raises(InputError, match="no such image or folder"):
        image_files([tmp_path / "missing"])


def test_face_batch_views_the_detections_and_slices_consistently() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 300, 3), np.uint8)
    faces = _faces([[10, 10, 110, 110], [150, 140, 260, 250], [50, 180, 130, 260]])
    batch = FaceBatch.from_detections(image, faces)
    assert batch.boxes is faces.boxes and batch.landmarks is faces.landmarks and batch.detector_scores is faces.scores
    aligned = align_detections(image, faces)
    np.testing.assert_array_equal(batch.color, aligned.color)
    np.testing.assert_array_equal(batch.gray, aligned.gray)
    assert len(batch.sources) == 3 and all(source is image for source in batch.sources)

    middle = batch[1:2]
    assert len(batch[1]) == 1 and np.array_equal(batch[1].gray, middle.gray)
    np.testing.assert_array_equal(middle.color, batch.color[1:2])
    np.testing.assert_array_equal(middle.boxes, faces.boxes[1:2])
    assert len(middle.with_sources(()).sources) == 0

    joined = faces_of_images([image, image], [faces[0], faces[2]])
    np.testing.assert_array_equal(joined.gray, batch.gray[[0, 2]])
    np.testing.assert_array_equal(joined.landmarks, faces.landmarks[[0, 2]])
    assert len(FaceBatch.concatenate([])) == 0
    with pytest.raises(ValueError, match="source images"):
        FaceBatch(faces, aligned, (image,))
