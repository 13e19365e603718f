"""moto's server, one request at a time.

moto's TransactWriteItems is not isolated: on a failed condition it restores a copy of the table taken when
the transaction began, erasing writes that other request threads made in between (seen here: two racing
commits both failed and nothing was written). Real DynamoDB serialises transactions; a single-threaded
server is the faithful stand-in. Usage: moto_server_serial.py HOST PORT
"""
import sys

import werkzeug.serving

_run_simple = werkzeug.serving.run_simple


def _serial_run_simple(*args, **kwargs):
    kwargs["threaded"] = False
    return _run_simple(*args, **kwargs)


werkzeug.serving.run_simple = _serial_run_simple

from moto.server import main  # noqa: E402  (must come after the patch: it binds run_simple at import)

if __name__ == "__main__":
    main(["-H", sys.argv[1], "-p", sys.argv[2]])
