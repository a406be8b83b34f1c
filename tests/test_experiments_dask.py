"""Sweeps on a Dask cluster give the records of the serial run."""

import warnings

import pandas as pd
import pytest

from sparsepriv_nb import experiments as E

warnings.filterwarnings("ignore", message="cache:")


def test_dask_local_cluster_matches_serial(tmp_path):
    distributed = pytest.importorskip("dask.distributed", reason="dask[distributed] missing")
    base = E.ExperimentConfig(data={"max_samples": 400}, train={"epochs": 2},
                              attack={"names": ("loss", "salem")})
    grid = E.make_grid(base, sparsity__method=["dense", "magnitude-global"],
                       sparsity__density=[0.3])
    serial = E.run_sweep(grid, cache=tmp_path / "serial", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        on_dask = E.run_sweep(grid, backend="dask", scheduler=cluster.scheduler_address,
                              cache=tmp_path / "dask", progress=False)
    assert not on_dask.from_cache.any()
    pd.testing.assert_frame_equal(serial, on_dask)
    # the workers wrote every record: a rerun only loads
    again = E.run_sweep(grid, cache=tmp_path / "dask", progress=False)
    assert again.from_cache.all()
    pd.testing.assert_frame_equal(serial.drop(columns="from_cache"),
                                  again.drop(columns="from_cache"))
