"""One adapter per third-party tool: PyAV, ffmpeg, pysubs2, audio buffers, the packaged voices."""
