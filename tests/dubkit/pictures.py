"""Test sources made of still pictures: public-domain photos shown one after another as an mp4."""
import numpy as np
from PIL import Image

from dubkit.adapters import ffmpeg
from dubkit.stages.probe import SourceInfo, probe_source

SIZE = (320, 240)  # width, height of the test sources
FPS = 30.0  # not the model's 25: the composite must come back at the source's rate


def still(picture: np.ndarray, size=SIZE) -> np.ndarray:
    """`picture` fitted inside a grey frame of `size`, aspect kept."""
    width, height = size
    image = Image.fromarray(picture)
    scale = min(width / image.width, height / image.height)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    frame = np.full((height, width, 3), 128, np.uint8)
    x, y = (width - image.width) // 2, (height - image.height) // 2
    frame[y : y + image.height, x : x + image.width] = np.asarray(image)
    return frame


def source_video(path, pictures, seconds_each=1.0, fps=FPS) -> SourceInfo:
    """An mp4 showing each picture in turn for `seconds_each`."""
    frames = np.concatenate([np.repeat(still(p)[None], round(seconds_each * fps), axis=0) for p in pictures])
    return probe_source(ffmpeg.encode_frames(frames, fps, path))
