"""chatkit's address shim for Python programs judged as handed in (docs/handed-in.md).

chatkit puts this folder first on PYTHONPATH (the user's PYTHONPATH follows) when it runs a Python
server or client whose command has no {port}. Python imports `sitecustomize` at start-up, so this
module runs before the student's code and wraps three methods of socket.socket:

- server role: the first bind() of a TCP socket to a non-zero port (the hard-coded address, e.g.
  ('127.0.0.1', 55555), ('', 9999), (socket.gethostname(), 5050)) binds to the address chatkit chose
  for this case instead; a later connect() to that hard-coded port (a server waking its own accept
  loop) goes to the chosen address too.
- client role: the first connect()/connect_ex() of a TCP socket goes to the address chatkit listens
  on; later connects to the same hard-coded port follow it (a client that reconnects).

Everything else passes through unchanged: other sockets, options (SO_REUSEADDR), threads, input().
socket.create_server, socket.create_connection, socketserver and asyncio all call these methods.
Each mapping is written as one line, "<bind|connect> HOST:PORT -> HOST:PORT", to the file named by
CHATKIT_MAP_NOTE, which chatkit reads for its report.

Environment: CHATKIT_MAP_ROLE (server|client), CHATKIT_MAP_HOST, CHATKIT_MAP_PORT, CHATKIT_MAP_NOTE.
Only the standard library; Python 3.6 or newer.
"""

import os
import socket
import sys
import threading


def _install():
    role = os.environ.get("CHATKIT_MAP_ROLE")
    host = os.environ.get("CHATKIT_MAP_HOST", "127.0.0.1")
    try:
        port = int(os.environ.get("CHATKIT_MAP_PORT", ""))
    except ValueError:
        return
    if role not in ("server", "client") or not 0 < port < 65536:
        return
    note_path = os.environ.get("CHATKIT_MAP_NOTE")
    # Children of the program (a server that starts python helpers) must not map again.
    for name in ("CHATKIT_MAP_ROLE", "CHATKIT_MAP_PORT"):
        os.environ.pop(name, None)

    lock = threading.Lock()
    mapped = {}  # hard-coded port -> True once mapped
    state = {"first": None}

    def note(how, original, target):
        if not note_path:
            return
        try:
            with open(note_path, "a", encoding="utf-8") as f:
                f.write("%s %s -> %s\n" % (how, _text(original), _text(target)))
        except OSError:
            pass

    def is_tcp_inet(sock):
        try:
            return sock.family in (socket.AF_INET, socket.AF_INET6) and (
                sock.type & 0xF
            ) == socket.SOCK_STREAM
        except Exception:
            return False

    def target_for(sock, address):
        # The chosen address in the socket's own family: an IPv6 socket gets the v4-mapped form,
        # which Linux accepts unless IPV6_V6ONLY is set (then chatkit's 127.0.0.1 could not reach it).
        if sock.family == socket.AF_INET6:
            rest = tuple(address[2:4]) if len(address) >= 4 else (0, 0)
            return ("::ffff:" + host if ":" not in host else host, port) + rest
        return (host, port)

    def original_port(address):
        if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
            return address[1]
        return None

    def claim(sock, address, establishes):
        """The address to use instead of `address`, or None to leave the call alone."""
        if not is_tcp_inet(sock):
            return None
        wanted = original_port(address)
        if not wanted:
            return None
        with lock:
            if wanted in mapped:
                return target_for(sock, address)
            if establishes and state["first"] is None:
                state["first"] = wanted
                mapped[wanted] = True
                return target_for(sock, address)
        return None

    base_bind = socket.socket.bind
    base_connect = socket.socket.connect
    base_connect_ex = socket.socket.connect_ex

    def bind(self, address, *args):
        target = claim(self, address, role == "server")
        if target is None:
            return base_bind(self, address, *args)
        result = base_bind(self, target, *args)
        note("bind", address, target)
        return result

    def connect(self, address, *args):
        target = claim(self, address, role == "client")
        if target is None:
            return base_connect(self, address, *args)
        note("connect", address, target)
        return base_connect(self, target, *args)

    def connect_ex(self, address, *args):
        target = claim(self, address, role == "client")
        if target is None:
            return base_connect_ex(self, address, *args)
        note("connect", address, target)
        return base_connect_ex(self, target, *args)

    for name, fn, base in (("bind", bind, base_bind), ("connect", connect, base_connect),
                           ("connect_ex", connect_ex, base_connect_ex)):
        fn.__name__ = name
        fn.__doc__ = base.__doc__
        setattr(socket.socket, name, fn)


def _text(address):
    if isinstance(address, tuple) and len(address) >= 2:
        h = address[0] if address[0] != "" else "0.0.0.0"
        h = "[%s]" % h if ":" in str(h) else h
        return "%s:%s" % (h, address[1])
    return repr(address)


def _chain():
    """Runs the sitecustomize this module hides (Debian ships one), as Python would have."""
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        try:
            if not entry or os.path.abspath(entry) == here:
                continue
        except Exception:
            continue
        path = os.path.join(entry, "sitecustomize.py")
        if os.path.isfile(path):
            try:
                with open(path, "rb") as f:
                    code = compile(f.read(), path, "exec")
                exec(code, {"__name__": "sitecustomize", "__file__": path})
            except Exception:
                pass
            return


_install()
_chain()
