"""The OpenCV face adapter on public-domain photos from scikit-image: a portrait and a coffee cup."""
import numpy as np

from dubkit.adapters.faces import detect_faces, detector_identity, shrink


def test_the_astronaut_portrait_has_one_face_around_her_head():
    from skimage import data

    faces = detect_faces(data.astronaut(), min_height=40)
    assert len(faces) == 1
    face = faces[0]
    assert 150 < face.x < 210 and 40 < face.y < 100 and 70 < face.height < 120  # her head, at about (225, 115)


def test_the_coffee_cup_and_a_flat_frame_have_none():
    from skimage import data

    assert detect_faces(data.coffee(), min_height=20) == ()
    assert detect_faces(np.full((120, 160, 3), 90, np.uint8), min_height=20) == ()


def test_frames_are_shrunk_only_when_taller_than_asked_and_the_identity_names_the_model():
    frame = np.zeros((480, 640, 3), np.uint8)
    assert shrink(frame, 240).shape == (240, 320, 3) and shrink(frame, 600) is frame
    identity = detector_identity()
    assert identity["cascade"].endswith(".xml") and identity["opencv"]
