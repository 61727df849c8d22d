"""The interactive 2-D linear classifier page ("follow the slope") and its small local server.

``linclass demo`` starts it; in Python::

    from linclass.demo import make_server
    server = make_server("127.0.0.1", 0)   # port 0: a free port
    print(server.url)
    server.serve_forever()                 # server.shutdown() from another thread stops it

The page (``static/``) draws and edits; every score, loss and gradient it
shows comes from :mod:`linclass.demo.api`, i.e. from linclass's losses,
regularizers and optimizers.
"""

from .server import DemoServer, make_server

__all__ = ["DemoServer", "make_server"]
