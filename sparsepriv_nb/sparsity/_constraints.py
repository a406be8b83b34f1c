"""The parameter constraints that several sparsity modules declare, in one place.

Each is a :mod:`sparsepriv_nb._checks` constraint, used as ``validate_params({"amount":
amount}, {"amount": [AMOUNT]}, "magnitude_prune")``, so every method refuses a bad ``amount``
with the same :class:`~sparsepriv_nb._checks.ParameterError` message.

Example:
    >>> AMOUNT.describe(), DENSITY.describe(), SEED.describe()
    ('a float in [0, 1)', 'a float in (0, 1]', 'an int in [0, inf)')
"""

from __future__ import annotations

from .._checks import Interval, Options

__all__ = ["AMOUNT", "DENSITY", "SCOPE", "SEED"]

#: A fraction of the surviving weights to remove.
AMOUNT = Interval(float, 0, 1, "left")
#: A fraction of the prunable weights to keep (0 would be no network at all).
DENSITY = Interval(float, 0, 1, "right")
#: Where a magnitude threshold applies: each layer, or all layers at once.
SCOPE = Options(("layer", "global"))
#: A seed for torch / numpy generators.
SEED = Interval(int, 0, None)
