"""A correct NICK server with the extension profiles of spec §14 (admin, commands, rooms), into which
one --defect injects one bug: the zoo the extension profiles' cases must catch (README.md in this
directory). Python standard library only, written independently of the reference server: one thread
per connection (its handshake included, with a time limit), one lock over the member list, one
send lock per member.

    python3 ext_mutant_server.py [--admin-password P [--ban-file F]] [--commands] [--rooms] \
        [--defect NAME] [HOST [PORT]]
"""
import argparse
import re
import socket
import sys
import threading

DEFECTS = {
    "none": "no bug",
    # admin (spec §14.2)
    "no-pass": "admits the nickname admin without asking for a password",
    "announces-before-password": "announces `admin joined!` before asking PASS",
    "any-password": "admits admin whatever the password",
    "refuse-no-close": "answers a wrong password with REFUSE but leaves the connection open",
    "keeps-newline-password": "compares the password with its trailing LF (the tutorial's D-AS-3)",
    "kick-no-close": "tells the kicked member but never disconnects it (the tutorial's D-AS-4)",
    "no-kick-notice": "announces a kick as `<nick> left!` instead of `<nick> was kicked by an admin!`",
    "relays-commands": "relays the admin's KICK and BAN to every member as well",
    "anyone-can-kick": "lets any member kick",
    "prefix-commands": "takes any chunk starting with KICK or BAN as a command (the tutorial's D-AS-2)",
    "ban-not-enforced": "kicks on BAN but never refuses the banned nickname afterwards",
    # commands (spec §14.3)
    "users-to-all": "answers /users to every member",
    "msg-to-all": "delivers a private message to every member",
    "quit-ignored": "relays /quit as chat and keeps the member",
    "rename-silent": "renames without announcing it",
    "swallows-slash": "drops every line starting with / that is no command",
    # rooms (spec §14.4)
    "rooms-leak": "relays chat to every room",
    "no-room-notices": "moves members between rooms silently",
    "joins-to-all-rooms": "sends `<nick> joined!` and `<nick> left!` to every room",
    "rooms-list-lobby-only": "lists only lobby in the answer to /rooms",
}

NICK_RE = re.compile(r"^[\x21-\x39\x3b-\x7e]{1,32}$")
ROOM_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
HANDSHAKE_TIMEOUT = 10.0
DEFECT = "none"
OPTS = None


def has(name):
    return DEFECT == name


def strip_line_ending(text):
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


class Member:
    def __init__(self, sock, nick):
        self.sock = sock
        self.nick = nick
        self.room = "lobby"
        self.admin = False
        self.send_lock = threading.Lock()

    def send(self, text):
        data = text.encode("ascii") if isinstance(text, str) else text
        with self.send_lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass


class Server:
    def __init__(self):
        self.lock = threading.Lock()
        self.members = []
        self.rooms = ["lobby"]
        self.bans = set()
        if OPTS.ban_file:
            try:
                with open(OPTS.ban_file) as f:
                    self.bans = {line.rstrip("\r\n") for line in f if line.strip()}
            except FileNotFoundError:
                pass

    # --- fan-out ------------------------------------------------------------------------------
    def in_room(self, room):
        if not OPTS.rooms:
            return list(self.members)
        return [m for m in self.members if m.room == room]

    def to_room(self, room, text):
        for m in self.in_room(room):
            m.send(text)

    def to_all(self, text):
        for m in list(self.members):
            m.send(text)

    def find(self, nick):
        for m in self.members:
            if m.nick == nick:
                return m
        return None

    # --- membership ---------------------------------------------------------------------------
    def admit(self, sock, nick, admin=False):
        with self.lock:
            if self.find(nick) is not None:
                sock.sendall(b"Refused: nickname in use")
                return None
            m = Member(sock, nick)
            m.admin = admin
            self.members.append(m)
            room = None if (OPTS.rooms and has("joins-to-all-rooms")) else m.room
            (self.to_all if room is None else lambda t: self.to_room(room, t))(f"{nick} joined!")
            m.send("Connected to server!")
            return m

    def leave(self, m, notice=None):
        with self.lock:
            if m not in self.members:
                return
            self.members.remove(m)
            text = notice if notice is not None else f"{m.nick} left!"
            if OPTS.rooms and has("joins-to-all-rooms"):
                self.to_all(text)
            else:
                self.to_room(m.room, text)
        close(m.sock)

    def kick(self, target):
        target.send("You were kicked by an admin!")
        if has("kick-no-close"):
            with self.lock:
                if target in self.members:
                    self.members.remove(target)
                    self.to_room(target.room, f"{target.nick} was kicked by an admin!")
            return
        self.leave(target, None if has("no-kick-notice") else f"{target.nick} was kicked by an admin!")

    # --- commands -----------------------------------------------------------------------------
    def command(self, m, data):
        """True when `data` was a command (handled); False: relay it."""
        raw = data.decode("ascii", "replace")
        text = strip_line_ending(raw)
        if OPTS.admin_password is not None:
            if has("prefix-commands"):
                word = "KICK" if text.startswith("KICK") else "BAN" if text.startswith("BAN") else None
                name = text[5:] if word == "KICK" else text[4:]
            else:
                match = re.match(r"^(KICK|BAN) ([\x21-\x39\x3b-\x7e]{1,32})$", text)
                word, name = (match.group(1), match.group(2)) if match else (None, None)
            if word is not None:
                if not m.admin and not has("anyone-can-kick"):
                    m.send("Command was refused!")
                    return True
                if has("relays-commands"):
                    self.to_room(m.room, data)
                if word == "BAN":
                    self.bans.add(name)
                    if OPTS.ban_file:
                        with open(OPTS.ban_file, "a") as f:
                            f.write(name + "\n")
                target = self.find(name)
                if target is not None:
                    self.kick(target)
                return True
        if not (OPTS.commands or OPTS.rooms):
            return False
        if text.startswith(m.nick + ": "):
            text = text[len(m.nick) + 2:]
        if OPTS.commands:
            if text == "/users":
                answer = "Users: " + ", ".join(x.nick for x in self.members)
                (self.to_all if has("users-to-all") else m.send)(answer)
                return True
            match = re.match(r"^/msg ([\x21-\x39\x3b-\x7e]{1,32}) ([\x09\x20-\x7e]+)$", text)
            if match:
                target = self.find(match.group(1))
                if target is None:
                    m.send(f"No such user: {match.group(1)}")
                elif has("msg-to-all"):
                    self.to_all(f"{m.nick} -> {target.nick}: {match.group(2)}")
                else:
                    target.send(f"{m.nick} -> {target.nick}: {match.group(2)}")
                    if target is not m:
                        m.send(f"{m.nick} -> {target.nick}: {match.group(2)}")
                return True
            if text == "/quit" and not has("quit-ignored"):
                self.leave(m)
                return True
            if text.startswith("/nick "):
                new = text[len("/nick "):]
                with self.lock:
                    if not NICK_RE.match(new):
                        m.send("Nickname refused: not a valid nickname")
                    elif self.find(new) is not None or new in self.bans or (OPTS.admin_password is not None and new == "admin"):
                        m.send("Nickname refused: nickname in use")
                    else:
                        old, m.nick = m.nick, new
                        if not has("rename-silent"):
                            self.to_all(f"{old} is now known as {new}")
                return True
        if OPTS.rooms:
            if text.startswith("/join "):
                room = text[len("/join "):]
                with self.lock:
                    if not ROOM_RE.match(room):
                        m.send(f"Bad room name: {room}")
                    elif room == m.room:
                        m.send(f"{m.nick} joined #{room}")
                    else:
                        old, m.room = m.room, room
                        if room not in self.rooms:
                            self.rooms.append(room)
                        if has("no-room-notices"):
                            m.send(f"{m.nick} joined #{room}")
                        else:
                            self.to_room(old, f"{m.nick} left #{old}")
                            self.to_room(room, f"{m.nick} joined #{room}")
                return True
            if text == "/rooms":
                with self.lock:
                    counts = [(r, sum(1 for x in self.members if x.room == r)) for r in self.rooms]
                shown = [(r, n) for r, n in counts if r == "lobby" or (n > 0 and not has("rooms-list-lobby-only"))]
                m.send("Rooms: " + ", ".join(f"{r} ({n})" for r, n in shown))
                return True
        if OPTS.commands and text.startswith("/") and has("swallows-slash"):
            return True
        return False

    # --- one connection -----------------------------------------------------------------------
    def serve(self, sock):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.settimeout(HANDSHAKE_TIMEOUT)
            sock.sendall(b"NICK")
            data = sock.recv(1024)
            if not data:
                close(sock)
                return
            nick = strip_line_ending(data.decode("ascii", "replace"))
            if not NICK_RE.match(nick):
                sock.sendall(b"Refused: invalid nickname")
                close(sock)
                return
            if nick in self.bans and not has("ban-not-enforced"):
                sock.sendall(b"BAN")
                close(sock)
                return
            admin = False
            if OPTS.admin_password is not None and nick == "admin" and not has("no-pass"):
                if has("announces-before-password"):
                    with self.lock:
                        self.to_room("lobby", "admin joined!")
                sock.sendall(b"PASS")
                answer = sock.recv(1024).decode("ascii", "replace")
                if not has("keeps-newline-password"):
                    answer = strip_line_ending(answer)
                if answer != OPTS.admin_password and not has("any-password"):
                    sock.sendall(b"REFUSE")
                    if not has("refuse-no-close"):
                        close(sock)
                        return
                    while sock.recv(1024):
                        pass
                    close(sock)
                    return
                admin = True
            sock.settimeout(None)
        except OSError:
            close(sock)
            return
        m = self.admit(sock, nick, admin)
        if m is None:
            close(sock)
            return
        while True:
            try:
                data = sock.recv(1024)
            except OSError:
                data = b""
            if not data:
                self.leave(m)
                return
            with self.lock:
                alive = m in self.members
            if not alive:
                return
            if self.command(m, data):
                continue
            with self.lock:
                if has("rooms-leak"):
                    self.to_all(data)
                else:
                    self.to_room(m.room, data)


def close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def main():
    global DEFECT, OPTS
    parser = argparse.ArgumentParser()
    parser.add_argument("--admin-password")
    parser.add_argument("--ban-file")
    parser.add_argument("--commands", action="store_true")
    parser.add_argument("--rooms", action="store_true")
    parser.add_argument("--defect", choices=sorted(DEFECTS), default="none")
    parser.add_argument("host", nargs="?", default="127.0.0.1")
    parser.add_argument("port", nargs="?", type=int, default=55555)
    OPTS = parser.parse_args()
    DEFECT = OPTS.defect
    server = Server()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((OPTS.host, OPTS.port))
    listener.listen(128)
    print(f"listening on {OPTS.host}:{OPTS.port}, defect {DEFECT}: {DEFECTS[DEFECT]}", flush=True)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=server.serve, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    main()
