"""``python -m deploy.k8s_check``: see deploy/k8s_check/__init__.py."""

import sys

from deploy.k8s_check.check import main

raise SystemExit(main(sys.argv[1:]))
