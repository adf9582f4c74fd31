"""``python -m crossframe`` is the ``crossframe`` command."""
import sys

from .cli import main

sys.exit(main())
