"""The OpenCV adapter: frontal faces found by the Haar cascade that ships inside opencv-python-headless.

The cascade's XML model is part of the wheel (`cv2.data.haarcascades`), so detection needs no download
and gives the same boxes on every machine for the same OpenCV version (which is pinned in pyproject and
recorded in the cache key and the report). Only this module imports cv2.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from dubkit.adapters import package_version
from dubkit.errors import DubkitError

CASCADE = "haarcascade_frontalface_alt2.xml"  # fewer false faces than the default cascade on textures
SCALE_STEP = 1.1  # the detector's image pyramid step
MIN_NEIGHBOURS = 5  # overlapping hits a face needs; lower finds more faces and more false ones


@dataclass(frozen=True)
class Face:
    """A face box in pixels of the frame it was found in: left, top, width, height."""

    x: float
    y: float
    width: float
    height: float


@lru_cache(maxsize=1)
def _cascade():
    import cv2

    path = Path(cv2.data.haarcascades) / CASCADE
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        raise DubkitError(f"OpenCV could not load its face model {path}; reinstall opencv-python-headless")
    return classifier


def detect_faces(frame: np.ndarray, min_height: int) -> tuple[Face, ...]:
    """Frontal faces at least `min_height` pixels tall in an (H, W, 3) uint8 RGB frame, largest first."""
    import cv2

    gray = cv2.equalizeHist(cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2GRAY))
    side = max(int(min_height), 20)  # the cascade's own window is 20 px
    found = _cascade().detectMultiScale(gray, scaleFactor=SCALE_STEP, minNeighbors=MIN_NEIGHBOURS,
                                        minSize=(side, side))
    faces = [Face(float(x), float(y), float(w), float(h)) for x, y, w, h in np.reshape(found, (-1, 4))]
    return tuple(sorted(faces, key=lambda f: f.height, reverse=True))


def shrink(frame: np.ndarray, height: int) -> np.ndarray:
    """`frame` scaled (area average) to `height` rows when it is taller; detection needs no more."""
    import cv2

    h, w = frame.shape[:2]
    if h <= height:
        return frame
    return cv2.resize(frame, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)


def detector_identity() -> dict:
    """What changes the boxes: the cascade, its settings and the OpenCV version (cache keys, the report)."""
    return {"detector": "OpenCV Haar cascade", "cascade": CASCADE, "scale_step": SCALE_STEP,
            "min_neighbours": MIN_NEIGHBOURS, "opencv": package_version("opencv-python-headless", None)}
