"""sparsepriv_nb: can sparsity make neural networks more private?

A thin helper package behind a sequence of teaching notebooks. Import it as ``spn``::

    import sparsepriv_nb as spn
    ds = spn.data.load_dataset("digits")

Submodules load on first use (``spn.dp`` imports Opacus only when touched), so that
``import sparsepriv_nb`` costs little beyond torch.
"""

import importlib
import os

# Two OpenMP threads spin-waiting on a 2-core machine were measured 6-60x slower as soon as
# another process was busy; passive waiting avoids it. Only effective before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

_SUBMODULES = ("analysis", "attacks", "auditing", "butterfly", "cache", "config", "data",
               "defense_eval", "defenses", "dp", "ensembles", "experiments", "families", "findings",
               "inputs", "inversion", "inversion_verdicts", "lesson", "locks", "mask_verdicts",
               "matching", "metrics", "models", "paired", "plots", "plots_dp", "plots_shifts",
               "plots_sweep", "power", "ppb_claim", "registry", "shifts", "signals", "sparsity",
               "train", "widgets")

__all__ = [*_SUBMODULES, "__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'sparsepriv_nb' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))


from . import train as _train  # noqa: E402

# One torch thread on <= 2 cores: measured faster for these small models, idle or not
# (benchmarks/threads.py). OMP_NUM_THREADS set by the user wins.
if "OMP_NUM_THREADS" not in os.environ:
    _train.configure_threads()
