"""Former home of the butterfly layers, now :mod:`sparsepriv_nb.sparsity.butterfly`.

Kept so that ``sparsepriv_nb.butterfly`` and ``spn.butterfly.ButterflyLinear`` still work.

Example:
    >>> from sparsepriv_nb.sparsity import butterfly as moved
    >>> ButterflyLinear is moved.ButterflyLinear
    True

Lesson: notebook 01 (``01_sparsity_methods``).
"""

from .sparsity.butterfly import ButterflyLinear, butterfly_sparsify, butterfly_supports

__all__ = ["butterfly_supports", "ButterflyLinear", "butterfly_sparsify"]
