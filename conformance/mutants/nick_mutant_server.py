#!/usr/bin/env python3
"""A correct NICK chat server in plain threaded Python, with one bug injected on request.

    python3 nick_mutant_server.py --defect NAME [--wording spec|variant] [HOST [PORT]]

It is the seed's server (conformance/targets/python/nick_server.py) done right: every connection
gets its own thread for the handshake (with a time limit), nicknames are validated, the member list
is guarded by a lock, EOF and resets end a member once, and each member has a bounded output queue
drained by its own writer thread, so a member that stops reading delays nobody. `--defect none` is
a second correct implementation of spec/PROTOCOL.md's NICK server (the conformance suite must pass
it entirely); every other `--defect` breaks exactly one thing, and a named conformance case must
catch it (test/conformance/nick-verdicts.int.test.ts). `--wording variant` changes only the
server's texts, as students do, and combines with any defect. Standard library only.
"""
import argparse
import collections
import os
import socket
import sys
import threading
import time

RECV_BYTES = 1024  # NICK_RECV_BYTES: what a legacy peer reads at once
NICKNAME_MAX_BYTES = 32
QUEUE_MAX_BYTES = 512 * 1024  # a member with more output waiting is a slow reader (ROBUST-SLOW-1)
SPLIT_PAUSE_BELOW_BYTES = 128  # split-writes: short messages pause between their two pieces...
SPLIT_PAUSE_S = 0.25  # ...long enough for even a starved reader to read the first piece alone

# Each defect breaks one requirement; the comment names the case that must catch it.
DEFECTS = {
    "none": "no defect: a correct server",
    "wrong-join-text": "announces '<nick> has joined' (nick.join.broadcast)",
    "no-echo-to-sender": "relays to every member but the sender (nick.relay.all)",
    "no-leave": "never announces '<nick> left!' (nick.leave.reset)",
    "dies-on-disconnect": "the process exits when a member disconnects (nick.leave.reset)",
    "one-client-at-a-time": "serves one connection until it ends, then the next (nick.join.broadcast)",
    "truncates": "relays only the first 16 bytes of each chunk (nick.relay.all)",
    "no-connected": "never sends 'Connected to server!' (nick.join.connected)",
    "prompt-late": "waits for the client to speak before sending the prompt (nick.handshake.prompt)",
    "relays-non-ascii": "relays chunks holding bytes >= 0x80 (nick.relay.non-ascii)",
    "leave-twice": "announces every leave twice (nick.leave.reset)",
    "cuts-oversize": "reads 4096 bytes and relays only the first 1024 (nick.relay.oversize)",
    "split-writes": "writes every message in two pieces (nick.frame.one-write, a warning)",
    "blocking-send": "sends in the sender's thread with blocking sendall() and no queue (nick.robust.slow-reader)",
    "blocking-handshake": "reads the nickname in the accept loop (nick.robust.handshake-nonblocking)",
    "admits-invalid": "admits any nickname (nick.handshake.invalid-nick)",
    "admits-duplicates": "admits a nickname already in use (nick.handshake.duplicate-nick)",
    "keeps-newline": "keeps a trailing LF or CRLF in the nickname (nick.handshake.trailing-newline)",
    "announces-ghost": "admits a connection that ends during the handshake, with an empty nickname (nick.leave.handshake-eof)",
    "ignores-eof": "on EOF from a member, stops reading but neither closes nor announces it (nick.leave.eof)",
    "relay-to-prompted": "relays chat to connections still in their handshake (nick.handshake.prompt-alone)",
    "connected-to-all": "sends 'Connected to server!' to every member (nick.join.connected)",
    "exits-on-non-ascii-nick": "the process exits on a nickname that is not ASCII (nick.handshake.non-ascii-nick)",
    "lowercase-announce": "announces joins and leaves with the nickname lowercased, relays chat unchanged (NICK-JOIN-1)",
    "reformat": "relays each chunk as '[HH:MM] <chunk>' instead of unchanged (NICK-RELAY-1)",
    "kick-after-join": "closes every member right after its join, announced as a leave (NICK-RELAY-1)",
}

# The texts of the server: the spec's, or a student's rewording of them (`--wording variant`), which
# combines with any defect: the cases must judge behaviour through a wording difference.
WORDINGS = {
    "spec": {"connected": b"Connected to server!", "joined": b"%s joined!", "left": b"%s left!"},
    "variant": {"connected": b"Connected to the server", "joined": b"%s joined the chat!", "left": b"%s has left"},
}

DEFECT = "none"
# `--connected-first`: the newcomer gets `Connected to server!` before its own `joined!`, which
# NICK-JOIN-2 allows since spec 1.0 (a correct variation, not a defect; combines with any defect).
CONNECTED_FIRST = False
TEXTS = WORDINGS["spec"]
KICK_DRAIN_S = 5.0  # kick-after-join: at most this long for the join texts to be written before the close


def has(name):
    return DEFECT == name


class Member:
    """One connection: its socket, its nickname once admitted, and its output queue."""

    def __init__(self, room, sock):
        self.room = room
        self.sock = sock
        self.nick = None
        self.queue = collections.deque()
        self.queued_bytes = 0
        self.cond = threading.Condition()
        self.closed = False
        self.writing = False  # a message taken off the queue is being written
        self.writer = None
        self.kicked = False  # kick-after-join: gets its own join texts and nothing after them

    def start_writer(self):
        self.writer = threading.Thread(target=self.write_loop, daemon=True)
        self.writer.start()

    def deliver(self, data):
        """Queues one message; never blocks. Returns False when the queue overflows."""
        if has("blocking-send"):
            # The seed's way: send in the caller's thread; a member that stops reading blocks it.
            try:
                send_message(self.sock, data)
            except OSError:
                return False
            return True
        with self.cond:
            if self.closed:
                return True
            if self.queued_bytes + len(data) > QUEUE_MAX_BYTES:
                return False
            self.queue.append(data)
            self.queued_bytes += len(data)
            self.cond.notify()
        return True

    def write_loop(self):
        while True:
            with self.cond:
                while not self.queue and not self.closed:
                    self.cond.wait()
                if self.closed:
                    return
                data = self.queue.popleft()
                self.queued_bytes -= len(data)
                self.writing = True
            try:
                send_message(self.sock, data)
            except OSError:
                self.room.leave(self)
                return
            with self.cond:
                self.writing = False
                self.cond.notify_all()

    def drain(self, timeout):
        """Waits (at most `timeout` s) until everything queued for this member has been written."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while (self.queue or self.writing) and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.cond.wait(left)

    def close(self):
        with self.cond:
            self.closed = True
            self.queue.clear()
            self.cond.notify()
        try:
            # shutdown() also wakes a thread blocked in recv() or sendall() on this socket.
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def send_message(sock, data):
    """One message, one write (FRAME-2), unless the split-writes defect is on."""
    if has("split-writes") and len(data) > 2:
        sock.sendall(data[:2])
        if len(data) < SPLIT_PAUSE_BELOW_BYTES:
            time.sleep(SPLIT_PAUSE_S)  # so that the pieces arrive apart, as they often do on a real network
        sock.sendall(data[2:])
    else:
        sock.sendall(data)


class Room:
    """The members, in join order, behind one lock; everything sent to them goes through here."""

    def __init__(self):
        self.lock = threading.RLock()
        self.members = []
        self.prompted = []  # connections in their handshake (only the relay-to-prompted defect uses it)

    def broadcast(self, data, sender=None):
        slow = []
        with self.lock:
            targets = [m for m in self.members if not m.kicked]
            if has("relay-to-prompted") and sender is not None:
                targets += self.prompted
            if not has("blocking-send"):
                # Queueing never blocks, so it happens under the lock: every member's queue gets
                # the room's messages in one order, and only the members of this moment get them.
                for member in targets:
                    if has("no-echo-to-sender") and member is sender:
                        continue
                    if not member.deliver(data):
                        slow.append(member)
        if has("blocking-send"):
            for member in targets:
                if not member.deliver(data):
                    slow.append(member)
        for member in slow:
            self.leave(member)

    def join(self, member, nick):
        """Admits `member` as `nick`; False if the nickname is in use."""
        with self.lock:
            if not has("admits-duplicates") and any(m.nick == nick for m in self.members):
                return False
            member.nick = nick
            self.members.append(member)
            member.start_writer()
            if CONNECTED_FIRST and not has("no-connected") and not has("connected-to-all"):
                member.deliver(TEXTS["connected"])  # allowed since spec 1.0 (NICK-JOIN-2)
            joined = b"%s has joined" if has("wrong-join-text") else TEXTS["joined"]
            self.broadcast(joined % announced(nick))
            if has("connected-to-all"):
                self.broadcast(TEXTS["connected"])
            elif not has("no-connected") and not CONNECTED_FIRST:
                member.deliver(TEXTS["connected"])
            # Marked under the lock that orders the room's messages, so that the close is as good as
            # immediate whatever the handler thread's delay: a busy machine cannot let a later join
            # reach this member before its kick (which made nick.join.broadcast pass at CI load).
            member.kicked = has("kick-after-join")
        return True

    def leave(self, member):
        """Ends a member once: removed, closed, announced to the others (NICK-LEAVE-1)."""
        with self.lock:
            if member not in self.members:
                return
            self.members.remove(member)
        member.close()
        if has("dies-on-disconnect"):
            os._exit(1)
        if not has("no-leave"):
            self.broadcast(TEXTS["left"] % announced(member.nick))
            if has("leave-twice"):
                self.broadcast(TEXTS["left"] % announced(member.nick))


def announced(nick):
    """The nickname as the announcements show it: itself, or lowercased (ASCII only) by lowercase-announce."""
    return nick.lower() if has("lowercase-announce") else nick


def refuse(sock, reason):
    try:
        sock.sendall(b"Refused: " + reason.encode("ascii"))
    except OSError:
        pass
    close_quietly(sock)


def close_quietly(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def nickname_problem(nick):
    """Why `nick` is not a valid nickname (NICK-NICK-3), or None."""
    if not nick:
        return "nickname is empty"
    if len(nick) > NICKNAME_MAX_BYTES:
        return "nickname too long"
    if any(b >= 0x80 for b in nick):
        return "nickname must be ASCII"
    if any(b < 0x21 or b > 0x7E or b == 0x3A for b in nick):
        return "nickname may hold only printable ASCII without ':' or spaces"
    return None


def handshake(room, sock, prompt, timeout):
    """Prompts, reads and checks the nickname, and admits the connection; None if it did not join."""
    sock.settimeout(timeout)  # ROBUST-HANDSHAKE-2: an unfinished handshake ends after `timeout`
    member = Member(room, sock)
    try:
        if has("prompt-late"):
            if not sock.recv(RECV_BYTES):
                close_quietly(sock)
                return None
        send_message(sock, prompt)
        with room.lock:
            room.prompted.append(member)
        try:
            chunk = sock.recv(RECV_BYTES)
        finally:
            with room.lock:
                room.prompted.remove(member)
    except OSError:  # timeout, reset
        close_quietly(sock)
        return None
    if not chunk:  # EOF before the nickname: close, announce nothing (NICK-LEAVE-2)
        if has("announces-ghost"):
            room.join(member, b"")
            room.leave(member)
            return None
        close_quietly(sock)
        return None
    nick = chunk
    if not has("keeps-newline"):
        if nick.endswith(b"\r\n"):
            nick = nick[:-2]
        elif nick.endswith(b"\n"):
            nick = nick[:-1]
    if has("exits-on-non-ascii-nick"):
        try:
            nick.decode("ascii")
        except UnicodeDecodeError:
            os._exit(1)
    problem = None if has("admits-invalid") else nickname_problem(nick)
    if problem:
        refuse(sock, problem)
        return None
    sock.settimeout(None)
    if not room.join(member, nick):
        refuse(sock, "nickname in use")
        return None
    return member


def read_loop(room, member):
    """Relays every chunk the member sends, byte for byte, to every member (NICK-RELAY-1)."""
    size = 4096 if has("cuts-oversize") else RECV_BYTES
    if has("kick-after-join"):
        # A student's handler that returns (closing the socket) after the handshake.
        member.drain(KICK_DRAIN_S)
        room.leave(member)
        return
    while True:
        try:
            data = member.sock.recv(size)
        except OSError:
            room.leave(member)
            return
        if not data:
            if has("ignores-eof"):
                return
            room.leave(member)
            return
        if not has("relays-non-ascii") and any(b >= 0x80 for b in data):
            # NICK-RELAY-2: never relay it; close the sender, announced as a leave.
            room.leave(member)
            return
        if has("truncates"):
            data = data[:16]
        elif has("cuts-oversize"):
            data = data[:1024]
        elif has("reformat"):
            data = time.strftime("[%H:%M] ").encode("ascii") + data
        room.broadcast(data, sender=member)


def serve(room, sock, prompt, timeout):
    try:
        member = handshake(room, sock, prompt, timeout)
        if member is not None:
            read_loop(room, member)
    except Exception as error:  # one connection's trouble never takes the server down
        print(f"connection failed: {error!r}", file=sys.stderr)
        close_quietly(sock)


def main():
    global DEFECT, TEXTS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host", nargs="?", default="127.0.0.1")
    parser.add_argument("port", nargs="?", type=int, default=55555)
    parser.add_argument("--defect", choices=sorted(DEFECTS), default="none")
    parser.add_argument("--wording", choices=sorted(WORDINGS), default="spec",
                        help="the server's texts: the spec's (default) or a student's variant")
    parser.add_argument("--connected-first", action="store_true",
                        help="send 'Connected to server!' before the newcomer's own joined! (allowed, NICK-JOIN-2)")
    parser.add_argument("--prompt", default="NICK")
    parser.add_argument("--handshake-timeout", type=float, default=10.0, help="seconds (default 10)")
    args = parser.parse_args()
    DEFECT = args.defect
    global CONNECTED_FIRST
    CONNECTED_FIRST = args.connected_first
    TEXTS = WORDINGS[args.wording]
    prompt = args.prompt.encode("ascii")

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(128)
    print(f"listening on {args.host}:{args.port}, wording {args.wording}, defect {DEFECT}: {DEFECTS[DEFECT]}", flush=True)
    room = Room()
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # FRAME-3
        if has("one-client-at-a-time"):
            serve(room, sock, prompt, None)
        elif has("blocking-handshake"):
            sock.settimeout(None)
            member = handshake(room, sock, prompt, None)
            if member is not None:
                threading.Thread(target=read_loop, args=(room, member), daemon=True).start()
        else:
            threading.Thread(target=serve, args=(room, sock, prompt, args.handshake_timeout), daemon=True).start()


if __name__ == "__main__":
    main()
