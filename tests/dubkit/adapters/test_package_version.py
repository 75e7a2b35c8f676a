"""The one "installed version, else a fallback" lookup."""
import numpy as np

from dubkit.adapters import package_version


def test_an_installed_package_gives_its_version_and_a_missing_one_the_fallback():
    assert package_version("numpy") == np.__version__
    assert package_version("no-such-distribution-dubkit") == "missing"
    assert package_version("no-such-distribution-dubkit", None) is None
