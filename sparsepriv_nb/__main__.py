"""``python -m sparsepriv_nb`` is ``sparsepriv-nb``."""

import sys

from .cli import main

sys.exit(main())
