"""``python -m device_check`` (with ``benchmarks`` on the path): what ``device_check.sh`` runs."""
import sys

from .cli import main

sys.exit(main())
