"""The Pillow adapter: small JPEG thumbnails of frames for self-contained HTML reports, small PNGs beside them."""
from __future__ import annotations

import base64
import io

import numpy as np


def thumbnail_uri(frame: np.ndarray, width: int = 160) -> str:
    """A small JPEG of an (H, W, 3) uint8 frame as a data URI."""
    from PIL import Image  # imported on use: reports only

    image = Image.fromarray(np.ascontiguousarray(frame[..., :3]).astype(np.uint8))
    height = max(1, round(image.height * width / image.width))
    buf = io.BytesIO()
    image.resize((width, height)).save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def shrunk(frame: np.ndarray, width: int) -> np.ndarray:
    """An (H, W, 3) uint8 frame scaled down to `width` columns (aspect kept; Lanczos); smaller ones as they are."""
    from PIL import Image

    if frame.shape[1] <= width:
        return frame
    image = Image.fromarray(np.ascontiguousarray(frame[..., :3]).astype(np.uint8))
    return np.asarray(image.resize((width, max(1, round(image.height * width / image.width))), Image.LANCZOS))


def thumbnail_png(frame: np.ndarray, width: int = 160) -> bytes:
    """A small lossless PNG of an (H, W, 3) uint8 frame (the report's mask thumbnails)."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(frame[..., :3]).astype(np.uint8))
    height = max(1, round(image.height * width / image.width))
    buf = io.BytesIO()
    image.resize((width, height), Image.LANCZOS).save(buf, format="PNG", optimize=True)
    return buf.getvalue()
