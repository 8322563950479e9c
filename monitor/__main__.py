"""``python -m monitor`` runs the same CLI as the ``deliverwatch`` console script."""

import sys

from monitor.cli import main

sys.exit(main())
