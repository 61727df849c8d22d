"""``linclass demo``: the interactive 2-D linear classifier page, served locally."""

from __future__ import annotations

import sys
import webbrowser

from ..demo import make_server
from ..errors import ParameterError
from ..i18n import resolve
from ._common import Output, add_command, add_lang


def register(subparsers, common):
    p = add_command(subparsers, common, "demo")
    p.add_argument("--port", type=int, default=8000, help="TCP port (0: a free one; default 8000)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    add_lang(p)
    p.set_defaults(run=run)


def run(args) -> Output:
    if not 0 <= args.port <= 65535:
        raise ParameterError(f"--port must be in [0, 65535], got {args.port}; use 0 for a free port.")
    try:
        server = make_server(args.host, args.port, lang=resolve(args.lang))
    except OSError as err:
        raise ParameterError(f"cannot listen on {args.host}:{args.port} ({err.strerror or err}); "
                             "pick another --port (0 for a free one) or --host.") from None
    url = server.url
    print(f"linclass demo: serving {url}  (Ctrl-C to stop)", file=sys.stderr if args.json else sys.stdout,
          flush=True)
    if not server.loopback_only:
        print(f"linclass demo: warning: {args.host} is reachable from other machines and the demo has no "
              "authentication; use --host 127.0.0.1 unless you mean it.", file=sys.stderr, flush=True)
    if not args.no_browser:
        try:
            webbrowser.open(url)
        except Exception:  # no browser is no reason to stop serving  # noqa: BLE001
            pass
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return Output(text="linclass demo: stopped", data={"url": url, "stopped": True})
