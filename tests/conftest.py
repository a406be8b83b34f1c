import gzip
import struct

import numpy as np
import pytest
import torch


def write_idx(path, array: np.ndarray, gz: bool = True) -> None:
    """Write ``array`` (uint8) in the IDX format of MNIST / Fashion-MNIST."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                     *array.shape)
    data = header + array.tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


@pytest.fixture
def idx_folder(tmp_path):
    """A folder with the four (gzipped) IDX files of a tiny 28x28 MNIST-like dataset."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 20)):
        y = np.arange(n) % 10
        X = rng.integers(0, 256, size=(n, 28, 28))
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", X)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", y)
    return tmp_path


@pytest.fixture(scope="session")
def digits():
    from sparsepriv_nb.data import load_dataset

    return load_dataset("digits")


@pytest.fixture
def mlp(digits):
    from sparsepriv_nb.models import build_model

    return build_model("mlp", input_shape=digits.input_shape, num_classes=10, seed=0)


@pytest.fixture
def tiny_train(digits):
    return digits.X[:300], digits.y[:300]


torch.set_num_threads(1)


@pytest.fixture
def fit_calls(monkeypatch):
    """Every ``train.fit`` call: (number of samples, first-row digest, keyword arguments)."""
    from sparsepriv_nb import train

    calls = []
    real = train.fit

    def spy(model, data, **kw):
        calls.append((len(data[1]), data[0].sum().item(), kw))
        return real(model, data, **kw)

    monkeypatch.setattr(train, "fit", spy)
    return calls


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` need CUDA: skipped, with the reason, where torch sees none
    (``SPARSEPRIV_TEST_GPU=cpu`` runs them CPU against CPU; see tests/test_gpu.py)."""
    import os

    if torch.cuda.is_available() or os.environ.get("SPARSEPRIV_TEST_GPU") == "cpu":
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU: torch.cuda.is_available() is False "
                                   f"(torch {torch.__version__})")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)
