#!/usr/bin/env python3
"""A correct threaded tilde server (seed 002's server.py with every Annex A.3 defect fixed) into
which `--defect NAME` injects exactly ONE bug, so that the conformance suite can show that each bug
is caught by a named case (conformance/mutants/README.md, "tilde mutants").

    python3 tilde_mutant_server.py --defect NAME [--wording spec|variant] [HOST] [PORT]   # defaults 127.0.0.1 9999

`--wording variant` changes only the server's texts (`SERVER~<user> joined`, `SERVER~<user> left`), as
students do, and combines with any defect.

`--defect none` is the correct server: it must pass every tilde case, core and robustness.

The correct server (spec/PROTOCOL.md section 5 and 6):
- one reader thread per connection; the first chunk is the username (one trailing LF or CRLF
  removed), validated and refused with `SERVER~Refused: <reason>` then a close (TILDE-USER-3);
  an unfinished handshake is closed after 10 s (ROBUST-HANDSHAKE-2);
- one writer thread and a bounded output queue per member: a broadcast only enqueues, so a member
  that stops reading delays nobody, and is closed (announced) once its queue overflows
  (ROBUST-SLOW-1); a failed write ends that member only (ROBUST-DEAD-1);
- every broadcast enqueues to a snapshot of the members taken under the room lock, so an
  announcement never reaches someone who joined after it (D-TS-9);
- content is held back while it ends inside a UTF-8 character, cut into relays of at most 2015
  bytes at character boundaries, and invalid UTF-8 closes the sender, announced (TILDE-RELAY-2/3);
- EOF, reset or any socket error removes the member at once, closes it and announces
  `SERVER~<user> left the chat` to the others (TILDE-LEAVE-1/2, ROBUST-EOF-1, ROBUST-RESET-1).
"""
import argparse
import collections
import os
import socket
import sys
import threading
import time

# What each defect does; the conformance case that catches it is in conformance/mutants/README.md.
DEFECTS = {
    "none": "no defect: the correct server",
    "latin1": "decodes and encodes Latin-1 instead of UTF-8 (no UTF-8 check, no hold-back)",
    "wrong-added-text": "announces a join as `SERVER~<user> joined the chat`",
    "no-echo-to-sender": "relays a member's content to every member except the sender",
    "no-leave-removal": "a member whose connection ends is kept: never removed, closed or announced",
    "dies-on-disconnect": "the whole server process exits when a member leaves",
    "one-client-at-a-time": "serves one connection at a time: the next is accepted only when it ends",
    "truncates": "relays only the first 16 bytes of each chunk it reads: the rest of the content is lost",
    "pieces": "reads with recv(16), so content is relayed in 16-byte pieces (allowed: spec 3.7 item 9)",
    "split-at-last-tilde": "relays only the part of the content after its last `~`",
    "relays-invalid-utf8": "relays content as received, invalid UTF-8 and split characters included",
    "no-username-validation": "admits any username: `~`, controls, SERVER, too long, duplicates, not UTF-8",
    "no-holdback": "takes a chunk that ends inside a character as invalid UTF-8 (closes the sender)",
    "no-content-limit": "reads up to 64 KiB and relays it whole: relays over 2015 bytes of content",
    "cuts-inside-character": "cuts oversize content every 2015 bytes, even inside a character",
    "spins-on-eof": "a connection that ends before its username spins in a busy loop, never closed",
    "leaks-to-pending": "sends announcements and relays to connections that have not sent a username",
    "no-leave-announcement": "removes a member that leaves but announces nothing",
    "blocking-send": "no output queues: each broadcast writes to every member in turn, blocking",
    "split-writes": "writes `<user>~` and the content of a relay as two writes (short relays 250 ms apart)",
    "speaks-first": "sends `Welcome!` to a new connection before it has sent its username",
    "kick-after-join": "closes every member right after its join, announced as a leave",
}

# The server's texts: the spec's, or a student's rewording of them (`--wording variant`), which
# combines with any defect: the cases must judge behaviour through a wording difference.
WORDINGS = {
    "spec": {"added": "{} added to the chat", "left": "{} left the chat"},
    "variant": {"added": "{} joined", "left": "{} left"},
}

RECV_BYTES = 2048  # TILDE_RECV_BYTES
CONTENT_MAX_BYTES = 2015  # TILDE_CONTENT_MAX_BYTES
NAME_MAX_BYTES = 32  # NICKNAME_MAX_BYTES
HANDSHAKE_TIMEOUT_S = 10.0  # SERVER_HANDSHAKE_TIMEOUT_MS
MAX_QUEUE_BYTES = 1024 * 1024  # output queued for one member before it is closed as a slow reader (as the reference server)
SPLIT_PAUSE_S = 0.25  # far past the judge's READ_GAP_MAX_MS, so that even a busy judge reads the pieces apart
USERNAME_MAX_READ = 4096  # most bytes read while completing a username split inside a character

DEFECT = "none"
TEXTS = WORDINGS["spec"]
WELCOME = b"Welcome!"  # speaks-first: what a student's server greets a connection with
KICK_DRAIN_S = 5.0  # kick-after-join: at most this long for the announcement to be written before the close


def log(*parts):
    print(*parts, flush=True)


# --------------------------------------------------------------------------------------- UTF-8


def split_utf8(buf):
    """(complete, tail, invalid): the well-formed prefix, an incomplete character at the very end
    (held back until the next chunk, FRAME-4), and whether the bytes can never be valid."""
    if DEFECT in ("latin1", "relays-invalid-utf8"):
        return buf, b"", False
    try:
        buf.decode("utf-8")
        return buf, b"", False
    except UnicodeDecodeError as error:
        # CPython reports "unexpected end of data" only for a valid prefix cut by the end of input;
        # surrogates, overlong forms and values above U+10FFFF fail at once ("invalid ...").
        if error.reason == "unexpected end of data" and error.end == len(buf):
            if DEFECT == "no-holdback":
                return b"", b"", True
            return buf[: error.start], buf[error.start :], False
        return b"", b"", True


def pieces_of(content):
    """Cuts content into relays of 1..2015 bytes at character boundaries (TILDE-RELAY-3)."""
    if DEFECT == "no-content-limit":
        return [content] if content else []
    out = []
    i = 0
    while i < len(content):
        j = min(i + CONTENT_MAX_BYTES, len(content))
        if j < len(content) and DEFECT not in ("cuts-inside-character", "latin1"):
            while j > i and (content[j] & 0xC0) == 0x80:
                j -= 1
            if j == i:  # not UTF-8 at all (relays-invalid-utf8): cut anyway, make progress
                j = min(i + CONTENT_MAX_BYTES, len(content))
        out.append(content[i:j])
        i = j
    return out


def decode_name(raw):
    if DEFECT == "latin1":
        return raw.decode("latin-1")
    if DEFECT == "no-username-validation":
        return raw.decode("utf-8", "surrogateescape")
    return raw.decode("utf-8")


def encode_text(text):
    if DEFECT == "latin1":
        return text.encode("latin-1")
    return text.encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------------------- room


class Member:
    def __init__(self, sock, name):
        self.sock = sock
        self.name = name
        self.queue = collections.deque()
        self.queued = 0
        self.cond = threading.Condition()
        self.gone = False
        self.kicked = False  # kick-after-join: gets its own announcement and nothing after it
        self.writing = False  # a message taken off the queue is being written

    def drain(self, timeout):
        """Waits (at most `timeout` s) until everything queued for this member has been written."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while (self.queue or self.writing) and not self.gone:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.cond.wait(left)

    def enqueue(self, data):
        """False when the queue would overflow (the member is a slow reader)."""
        with self.cond:
            if self.gone:
                return True
            if self.queued + len(data) > MAX_QUEUE_BYTES:
                return False
            self.queue.append(data)
            self.queued += len(data)
            self.cond.notify()
            return True

    def writer(self, room):
        while True:
            with self.cond:
                while not self.queue and not self.gone:
                    self.cond.wait()
                if self.gone:
                    return
                data = self.queue.popleft()
                self.queued -= len(data)
                self.writing = True
            try:
                write_message(self.sock, data)
            except OSError:
                if DEFECT != "no-leave-removal":
                    room.leave(self, "write failed")
                return
            with self.cond:
                self.writing = False
                self.cond.notify_all()


def write_message(sock, data):
    """One write per message (FRAME-2), except under the split-writes defect."""
    if DEFECT == "split-writes" and b"~" in data and not data.startswith(b"SERVER~"):
        cut = data.index(b"~") + 1
        sock.sendall(data[:cut])
        if len(data) < 256:  # short messages far apart, so the reader sees two recv()s; floods stay fast
            time.sleep(SPLIT_PAUSE_S)
        sock.sendall(data[cut:])
        return
    sock.sendall(data)


class Room:
    def __init__(self):
        self.lock = threading.RLock()
        self.members = []
        self.pending = []  # connections still in their handshake (only for leaks-to-pending)

    def names(self):
        return [m.name for m in self.members]

    def add(self, member):
        with self.lock:
            if DEFECT != "no-username-validation" and member.name in self.names():
                return False
            self.members.append(member)
            if DEFECT != "blocking-send":
                threading.Thread(target=member.writer, args=(self,), daemon=True).start()
            text = f"{member.name} joined the chat" if DEFECT == "wrong-added-text" else TEXTS["added"].format(member.name)
            self.broadcast(encode_text("SERVER~" + text))
            # Marked under the lock that orders the room's messages, so that the close is as good as
            # immediate whatever the handler thread's delay: a busy machine cannot let a later join
            # reach this member before its kick (which made tilde.join.broadcast pass at CI load).
            member.kicked = DEFECT == "kick-after-join"
            return True

    def broadcast(self, data, skip=None):
        with self.lock:
            targets = [m for m in self.members if m is not skip and not m.kicked]
            overflowed = []
            if DEFECT == "blocking-send":
                failed = []
                for m in targets:
                    try:
                        write_message(m.sock, data)
                    except OSError:
                        failed.append(m)
                for m in failed:
                    self.leave(m, "write failed")
            else:
                for m in targets:
                    if not m.enqueue(data):
                        overflowed.append(m)
            if DEFECT == "leaks-to-pending":
                for sock in list(self.pending):
                    try:
                        sock.sendall(data)
                    except OSError:
                        pass
            for m in overflowed:
                self.leave(m, "slow reader: output queue full")

    def leave(self, member, why):
        with self.lock:
            if member not in self.members:
                return
            self.members.remove(member)
            with member.cond:
                member.gone = True
                member.queue.clear()
                member.cond.notify()
            close_socket(member.sock)
            log(f"{member.name} left ({why})")
            if DEFECT == "dies-on-disconnect":
                os._exit(3)
            if DEFECT != "no-leave-announcement":
                self.broadcast(encode_text("SERVER~" + TEXTS["left"].format(member.name)))


def close_socket(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


ROOM = Room()


# -------------------------------------------------------------------------------- connections


def refuse(sock, reason):
    try:
        sock.sendall(encode_text(f"SERVER~Refused: {reason}"))
    except OSError:
        pass
    close_socket(sock)


def invalid_name_reason(raw, name):
    if DEFECT == "no-username-validation":
        return None
    if not raw:
        return "empty username"
    if len(raw) > NAME_MAX_BYTES:
        return "username too long"
    if "~" in name:
        return "username contains '~'"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name):
        return "username contains a control character"
    if name == "SERVER":
        return "reserved username"
    return None


def read_username(sock):
    """The first chunk, completed while it ends inside a character; None on EOF, error or timeout."""
    sock.settimeout(HANDSHAKE_TIMEOUT_S)
    buf = b""
    try:
        while True:
            data = sock.recv(RECV_BYTES)
            if not data:
                if DEFECT == "spins-on-eof" and not buf:
                    while True:  # the seed's D-TS-2, without the printing
                        pass
                return None
            buf += data
            _, tail, invalid = split_utf8(buf)
            if invalid or not tail or len(buf) > USERNAME_MAX_READ or DEFECT == "latin1":
                break
    except OSError:
        return None
    sock.settimeout(None)
    return buf


def serve(sock):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    if DEFECT == "speaks-first":
        try:
            sock.sendall(WELCOME)
        except OSError:
            close_socket(sock)
            return
    with ROOM.lock:
        ROOM.pending.append(sock)
    try:
        raw = read_username(sock)
    finally:
        with ROOM.lock:
            ROOM.pending.remove(sock)
    if raw is None:
        close_socket(sock)
        return
    if DEFECT != "no-username-validation":
        if raw.endswith(b"\r\n"):
            raw = raw[:-2]
        elif raw.endswith(b"\n"):
            raw = raw[:-1]
    try:
        name = decode_name(raw)
    except UnicodeDecodeError:
        refuse(sock, "username is not UTF-8")
        return
    reason = invalid_name_reason(raw, name)
    if reason is not None:
        refuse(sock, reason)
        return
    member = Member(sock, name)
    if not ROOM.add(member):
        refuse(sock, "username in use")
        return
    log(f"{name} joined")
    if DEFECT == "kick-after-join":
        # A student's handler that returns (closing the socket) after the handshake.
        member.drain(KICK_DRAIN_S)
        ROOM.leave(member, "kicked after its join")
        return
    relay_loop(member)


def relay_loop(member):
    recv_size = 16 if DEFECT == "pieces" else 65536 if DEFECT == "no-content-limit" else RECV_BYTES
    held = b""
    why = "eof"
    while True:
        try:
            data = member.sock.recv(recv_size)
        except OSError as error:
            why = f"error {error.__class__.__name__}"
            break
        if not data:
            break
        complete, held, invalid = split_utf8(held + data)
        if invalid:
            why = "invalid UTF-8"
            break
        if DEFECT == "split-at-last-tilde":
            complete = complete.rsplit(b"~", 1)[-1]
        if DEFECT == "truncates":
            complete = complete[:16]
        prefix = encode_text(member.name + "~")
        skip = member if DEFECT == "no-echo-to-sender" else None
        for piece in pieces_of(complete):
            ROOM.broadcast(prefix + piece, skip=skip)
    if DEFECT == "no-leave-removal":
        return  # kept in the room, socket left open: the dead member stays listed
    ROOM.leave(member, why)


def main():
    global DEFECT, TEXTS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--defect", required=True, choices=sorted(DEFECTS))
    parser.add_argument("--wording", choices=sorted(WORDINGS), default="spec",
                        help="the server's texts: the spec's (default) or a student's variant")
    parser.add_argument("host", nargs="?", default="127.0.0.1")
    parser.add_argument("port", nargs="?", type=int, default=9999)
    args = parser.parse_args()
    DEFECT = args.defect
    TEXTS = WORDINGS[args.wording]

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind((args.host, args.port))
    except OSError as error:
        # TRANSPORT-1 (the fix of D-TS-8): a failed bind is fatal, never a random port.
        print(f"cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        sys.exit(2)
    server.listen(128)
    log(f"tilde mutant server ({DEFECT}, wording {args.wording}) on {args.host} {args.port}")
    while True:
        client, _ = server.accept()
        if DEFECT == "one-client-at-a-time":
            serve(client)
        else:
            threading.Thread(target=serve, args=(client,), daemon=True).start()


if __name__ == "__main__":
    main()
