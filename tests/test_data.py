import numpy as np
import pytest
import torch

from sparsepriv_nb import data


def test_digits_is_embedded_and_in_unit_range(digits):
    assert digits.X.shape == (1797, 1, 8, 8)
    assert digits.X.min() >= 0 and digits.X.max() <= 1
    assert sorted(digits.y.unique().tolist()) == list(range(10))


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(ValueError, match="digits.*fashion-mnist|fashion-mnist.*digits"):
        data.load_dataset("imagenet")


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_pools_are_disjoint_balanced_and_deterministic(seed):
    p = data.make_pools(1797, seed=seed, public_fraction=0.1)
    all_idx = np.concatenate(list(p.as_dict().values()))
    assert len(np.unique(all_idx)) == len(all_idx)
    assert all_idx.max() < 1797
    assert len(p.target_train) == len(p.target_test) > 0
    assert len(p.shadow_train) == len(p.shadow_test) > 0
    half = (1797 - len(p.public)) / 2
    assert abs(len(p.target_train) / half - 0.45) < 0.01
    assert abs(len(p.target_val) / half - 0.10) < 0.01
    q = data.make_pools(1797, seed=seed, public_fraction=0.1)
    assert all(np.array_equal(a, b) for a, b in zip(p.as_dict().values(), q.as_dict().values()))
    r = data.make_pools(1797, seed=seed + 100, public_fraction=0.1)
    assert not np.array_equal(p.target_train, r.target_train)


def test_check_disjoint_detects_overlap():
    p = data.make_pools(100, seed=0)
    bad = data.Pools(p.target_train, p.target_val, p.target_test, p.target_train, p.shadow_val,
                     p.shadow_test)
    with pytest.raises(AssertionError, match="overlap"):
        bad.check_disjoint()


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=5), "'n'"), (dict(n=100, fractions=(0.5, 0.5)), "'fractions'"),
    (dict(n=100, public_fraction=1.0), "'public_fraction'")])
def test_pool_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.make_pools(seed=0, **kwargs)


def test_max_samples_is_stratified_and_seeded(digits):
    a = data.load_dataset("digits", max_samples=500, seed=3)
    b = data.load_dataset("digits", max_samples=500, seed=3)
    assert torch.equal(a.X, b.X) and len(a) == 500
    counts = torch.bincount(a.y, minlength=10)
    assert counts.min() >= 45
    with pytest.raises(ValueError, match="max_samples"):
        data.load_dataset("digits", max_samples=1)


@pytest.mark.parametrize("name,cls", [("fashion-mnist", "FashionMNIST"), ("mnist", "MNIST")])
def test_mnist_like_loads_idx_files_offline(idx_folder, name, cls, monkeypatch):
    root = idx_folder
    ds = data.load_dataset(name, root=root)
    assert ds.X.shape == (80, 1, 28, 28) and ds.num_classes == 10
    assert ds.X.max() <= 1.0 and ds.X.dtype == torch.float32
    assert (root / cls / "raw" / "train-images-idx3-ubyte").exists()
    pools = data.make_pools(len(ds), seed=0)
    pools.check_disjoint()


def test_mnist_missing_files_without_download_is_clear(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATASETS", {**data.DATASETS, "mnist": data._mnist_like(
        "MNIST", "mnist", [tmp_path / "nowhere"])})
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.load_dataset("mnist", root=tmp_path / "empty")


def test_debian_style_gz_source_is_decompressed(idx_folder, tmp_path, monkeypatch):
    # a separate source folder (like /usr/share/datasets/fashion-mnist) feeds root/raw
    root = tmp_path / "root"
    monkeypatch.setitem(data.DATASETS, "fashion-mnist",
                        data._mnist_like("FashionMNIST", "fashion-mnist", [idx_folder]))
    ds = data.load_dataset("fashion-mnist", root=root)
    assert len(ds) == 80
    assert not list((root / "FashionMNIST" / "raw").glob("*.tmp"))


def test_restrict_classes(digits):
    two = data.restrict_classes(digits, 2)
    assert set(two.y.tolist()) == {0, 1} and two.num_classes == 2
    with pytest.raises(ValueError, match="n_classes"):
        data.restrict_classes(digits, 11)


def test_cifar10_loads_files_in_torchvision_format(tmp_path, monkeypatch):
    """CIFAR-10's python pickles, written small; torchvision's MD5 check is for the real
    archive, so it is bypassed for these files only."""
    import pickle

    import torchvision

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {"data": rng.integers(0, 256, size=(4, 3072), dtype=np.uint8),
                 "labels": list(range(4))}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    ds = data.load_dataset("cifar10", root=tmp_path)
    assert ds.X.shape == (24, 3, 32, 32) and ds.num_classes == 10
    assert ds.classes[0] == "c0" and 0 <= ds.X.min() and ds.X.max() <= 1


def test_default_root_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARSEPRIV_DATA", str(tmp_path))
    assert data.default_root() == tmp_path
    monkeypatch.delenv("SPARSEPRIV_DATA")
    assert data.default_root().name == "data"  # this checkout


def test_shadow_splits_are_seeded_distinct_halves_of_the_shadow_pool():
    p = data.make_pools(1797, seed=0)
    splits = data.shadow_splits(p, 4, seed=0)
    pool = np.sort(np.r_[p.shadow_train, p.shadow_test])
    assert np.array_equal(splits[0][0], p.shadow_train)
    for mem, non in splits:
        assert len(mem) == len(non) == len(p.shadow_train)
        assert not np.intersect1d(mem, non).size
        assert np.array_equal(np.sort(np.r_[mem, non]), pool)
    assert len({tuple(m) for m, _ in splits}) == 4  # every shadow its own members
    again = data.shadow_splits(p, 4, seed=0)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(splits, again))
    assert not np.array_equal(data.shadow_splits(p, 2, seed=1)[1][0], splits[1][0])
    with pytest.raises(ValueError, match="n_shadows"):
        data.shadow_splits(p, 0, seed=0)


def test_subsample_pools_keeps_balance_and_rejects_bad_sizes():
    p = data.make_pools(1000, seed=0, public_fraction=0.1)
    q = data.subsample_pools(p, 30, seed=0)
    for name in ("target_train", "target_test", "shadow_train", "shadow_test"):
        assert len(getattr(q, name)) == 30
        assert np.isin(getattr(q, name), getattr(p, name)).all()
    assert np.array_equal(q.public, p.public) and np.array_equal(q.target_val, p.target_val)
    q.check_disjoint()
    for bad in (1, 10_000, 2.5, True, "5"):
        with pytest.raises(ValueError, match="train_size"):
            data.subsample_pools(p, bad, seed=0)


# ----------------------------------------------------------------------------- fashion-small

def test_fashion_small_is_embedded_offline_and_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSEPRIV_DATA", str(tmp_path / "nothing-here"))  # no data folder
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "absent")
    ds = data.load_dataset("fashion-small", root=tmp_path / "empty")
    assert ds.X.shape == (4000, 1, 28, 28) and ds.num_classes == 10
    assert ds.X.min() >= 0 and ds.X.max() <= 1
    assert ds.y.bincount().tolist() == [400] * 10
    assert ds.classes[0] == "T-shirt/top" and ds.input_shape == (1, 28, 28)
    a = data.load_dataset("fashion-small", max_samples=500, seed=3)
    b = data.load_dataset("fashion-small", max_samples=500, seed=3)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
    assert not list(tmp_path.rglob("*"))  # nothing written, nothing needed


def test_fashion_small_matches_its_recorded_checksum(tmp_path, monkeypatch):
    import hashlib

    raw = data.EMBEDDED_FASHION.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == data.FASHION_SMALL_SHA256
    assert len(raw) < 3_000_000  # "a few MB at most"
    bad = tmp_path / "fashion_subset.npz"
    bad.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    monkeypatch.setattr(data, "EMBEDDED_FASHION", bad)
    with pytest.raises(OSError, match="SHA-256"):
        data.DATASETS["fashion-small"](tmp_path, False)


def test_fashion_small_is_what_the_script_builds_from_fashion_mnist():
    """The embedded images are Fashion-MNIST's own rows (the script, rerun, gives the same)."""
    import importlib.util
    from pathlib import Path

    if not (data.DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    path = Path(__file__).resolve().parent.parent / "tools" / "make_embedded_fashion.py"
    spec = importlib.util.spec_from_file_location("make_embedded_fashion", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rebuilt = tool.build(data.DEBIAN_FASHION_MNIST, 4000, 0)
    with np.load(data.EMBEDDED_FASHION) as z:
        for k in ("images", "labels", "source_index"):
            np.testing.assert_array_equal(z[k], rebuilt[k])
