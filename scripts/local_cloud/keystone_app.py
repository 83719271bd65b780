"""Keystone's WSGI application for gunicorn.

Keystone's loader parses sys.argv, which under gunicorn holds gunicorn's own options and
makes every worker exit with "unrecognized arguments". Trim it before the import; the
configuration directory comes from OS_KEYSTONE_CONFIG_DIR.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402,F401
