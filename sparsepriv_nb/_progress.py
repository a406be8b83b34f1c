"""When to draw a progress bar: one rule shared by every module that trains or loops.

It lives in its own bottom-level module so that :mod:`sparsepriv_nb.sparsity`,
:mod:`sparsepriv_nb.train` and the modules above them can all use it without importing each
other.

Example:
    >>> show_progress(False), show_progress(True)
    (False, True)
"""

from __future__ import annotations

import sys

__all__ = ["show_progress"]


def show_progress(progress: bool | None) -> bool:
    """Whether to draw a tqdm bar.

    Args:
        progress: ``True``/``False`` to force it; ``None`` draws it only in a notebook kernel
            or an interactive terminal (never in logs, CI or papermill's saved outputs when
            stderr is not a terminal and no kernel is loaded).
    """
    if progress is not None:
        return bool(progress)
    return sys.stderr.isatty() or "ipykernel" in sys.modules
