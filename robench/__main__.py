"""``python -m robench`` (and ``torchrun -m robench eval ...``)."""
from robench.cli import main

main()
