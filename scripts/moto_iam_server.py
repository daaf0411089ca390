"""moto server for the IAM-enforced tests (scripts/lib.sh, start_iam_emulator): the pinned moto
(tools/requirements-test.txt) with one fix, started with the same arguments as `moto_server`.

Why: moto verifies the SigV4 signature of a form-encoded request (SNS, STS, IAM: the query
protocol) over the form it parsed, re-encoded with spaces as `+`. The AWS SDK for Rust encodes
spaces as `%20`, as SigV4 prescribes, so every SNS publish with a space in it failed with
SignatureDoesNotMatch. Reading the raw body before werkzeug parses the form keeps it cached, so
moto hashes the bytes that were signed, and the form is still parsed from the cache.
"""

import sys

from moto.moto_server import werkzeug_app
from moto.server import main

_init = werkzeug_app.BackendRequest.__init__


def _init_keeping_raw_body(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.get_data(cache=True)


werkzeug_app.BackendRequest.__init__ = _init_keeping_raw_body

if __name__ == "__main__":
    sys.exit(main())
