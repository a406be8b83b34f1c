"""sparsepriv_nb: can sparsity make neural networks more private?

A thin helper package behind a sequence of teaching notebooks. Import it as ``spn``::

    import sparsepriv_nb as spn
    ds = spn.data.load_dataset("digits")
"""

import os

# Two OpenMP threads spin-waiting on a 2-core machine were measured 6-60x slower as soon as
# another process was busy; passive waiting avoids it. Only effective before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

from . import (attacks, cache, data, experiments, inversion, metrics, models,  # noqa: E402
               plots, signals, sparsity, train, widgets)

__all__ = ["attacks", "cache", "data", "experiments", "inversion", "metrics", "models", "plots",
           "signals", "sparsity", "train", "widgets", "__version__"]

# One torch thread on <= 2 cores: measured faster for these small models, idle or not
# (benchmarks/threads.py). OMP_NUM_THREADS set by the user wins.
if "OMP_NUM_THREADS" not in os.environ:
    train.configure_threads()
