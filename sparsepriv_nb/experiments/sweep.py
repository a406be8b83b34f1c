"""Sweeps: many experiments, serially, on local processes (loky) or on a Dask cluster, each
written to the cache when it finishes, so a killed sweep restarted loses nothing finished.

Lesson: notebook 03 (``03_confounding_by_accuracy``).
"""

from __future__ import annotations

import warnings

import pandas as pd

from .._checks import InstanceOf, Interval, Options, ParameterError, validate_params
from .._progress import show_progress
from ..cache import Cache
from ..config import ExperimentConfig
from .pipeline import run_experiment
from .store import as_cache, check_cfg, experiment_key, load_finished

__all__ = ["run_sweep"]

_BACKENDS = (None, "loky", "dask")


def _run_one(cfg, cache_root, cache_enabled, device, root):
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    return run_experiment(cfg, cache=Cache(cache_root, enabled=cache_enabled), device=device,
                          root=root, progress=False)


def _dask_client(scheduler, n_jobs: int):
    """A client to ``scheduler`` (an address), or to a new local cluster of processes; the
    second item closes what was opened here."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError("backend='dask' needs dask.distributed: pip install "
                          "'dask[distributed]' (the 'cluster' extra).") from exc
    if scheduler is not None:
        client = Client(scheduler)
        return client, client.close
    cluster = LocalCluster(n_workers=max(1, n_jobs), threads_per_worker=1, processes=True)
    client = Client(cluster)
    return client, lambda: (client.close(), cluster.close())


def run_sweep(configs: list[ExperimentConfig], *, n_jobs: int = 1, backend: str | None = None,
              scheduler=None, cache=None, device: str = "auto", root=None,
              progress: bool | None = None) -> pd.DataFrame:
    """Run experiments (cached ones only load) and concatenate their records.

    Each experiment writes its record when it finishes, so a sweep that is killed and
    restarted recomputes only the unfinished ones.

    Args:
        configs: e.g. from :func:`make_grid`.
        n_jobs: parallel workers (``-1`` = all cores); with ``backend="dask"`` and no
            ``scheduler``, the local cluster's number of worker processes.
        backend: ``None`` (in-process when ``n_jobs == 1``, else loky), ``"loky"`` (local
            processes, joblib) or ``"dask"`` (``dask.distributed`` through joblib's dask
            backend).
        scheduler: a Dask scheduler address (``"tcp://host:8786"``) or a
            ``dask.distributed.Client``; ``None`` starts a ``LocalCluster``.
        cache: as for :func:`run_experiment`: a folder every worker can reach.
        progress: tqdm bar over experiments.

    Returns:
        One DataFrame (``from_cache`` says which rows were only loaded).

    Example (a running Dask scheduler)::

        df = run_sweep(make_grid(base, seed=[0, 1, 2]), backend="dask",
                       scheduler="tcp://scheduler:8786", cache="/shared/cache")
    """
    from joblib import delayed
    from tqdm.auto import tqdm

    _check_sweep_args(configs, n_jobs, backend, scheduler)
    configs = [check_cfg(c) for c in configs]
    cache = as_cache(cache)
    frames: dict[int, pd.DataFrame] = {}
    todo = []
    for i, cfg in enumerate(configs):
        hit = load_finished(cache, experiment_key(cfg), cfg)
        if hit is not None:
            frames[i] = hit[0].assign(from_cache=True)
        else:
            todo.append(i)
    bar = tqdm(total=len(configs), initial=len(frames), desc="experiments",
               disable=not show_progress(progress))
    if todo:
        jobs = [delayed(_run_one)(configs[i], str(cache.root), cache.enabled, device, root)
                for i in todo]
        for i, df in zip(todo, _results(jobs, n_jobs, backend, scheduler)):
            frames[i] = df
            bar.update(1)
    bar.close()
    return pd.concat([frames[i] for i in range(len(configs))], ignore_index=True)


def _check_sweep_args(configs, n_jobs, backend, scheduler) -> None:
    validate_params({"configs": configs, "backend": backend, "n_jobs": n_jobs},
                    {"configs": [InstanceOf((list, tuple), "a non-empty list of "
                                            "ExperimentConfig", lambda v: len(v) > 0)],
                     "backend": [Options(tuple(b for b in _BACKENDS if b)), None],
                     "n_jobs": [InstanceOf(int, "-1 (every core)",
                                           lambda v: not isinstance(v, bool) and v == -1),
                                Interval(int, 1, None)]}, "run_sweep")
    if scheduler is not None and backend != "dask":
        raise ParameterError(f"The 'scheduler' parameter of run_sweep needs backend='dask'. "
                             f"Got backend={backend!r} instead.")


def _results(jobs: list, n_jobs: int, backend, scheduler):
    """The jobs' results, in order, computed in-process, on loky processes or on Dask."""
    from joblib import Parallel

    if backend == "dask":
        from joblib import parallel_config

        client, close = (scheduler, lambda: None) if hasattr(scheduler, "submit") \
            else _dask_client(scheduler, n_jobs if n_jobs > 0 else 2)
        try:
            with parallel_config(backend="dask"):
                return Parallel(n_jobs=-1)(jobs)
        finally:
            close()
    if n_jobs == 1 and backend is None:  # in-process: no worker start-up cost
        return (fn(*args, **kw) for fn, args, kw in jobs)
    return Parallel(n_jobs=n_jobs, backend=backend or "loky", return_as="generator")(jobs)
