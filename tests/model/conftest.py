"""Fixtures shared by the model tests."""

import pytest
import torch


@pytest.fixture(scope="module")
def single_thread():
    """Tiny tensors: thread hand-offs cost far more than the maths on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
