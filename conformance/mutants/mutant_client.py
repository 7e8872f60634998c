#!/usr/bin/env python3
"""A small CORRECT chat client (NICK or tilde dialect) into which --defect injects one bug.

    python3 mutant_client.py --dialect nick|tilde [--prompt TOKEN] --defect NAME HOST PORT

It reads like the seeds' clients: the first stdin line is the nickname (username), each later line
one message. With --defect none it passes every case of chatkit's `client` profile; each other
defect is one bug a student's client could have, and a named conformance case must catch it
(README.md, "client mutants"). Standard library only, one thread per direction, like the seeds.

Correct behaviour (spec/PROTOCOL.md):
  NICK   validate the nickname before connecting (NICK-NICK-2); send nothing until the stream starts
         with the prompt token, then the nickname in one write (NICK-NICK-1); never print the token
         (CLIENT-PROMPT-1); chat only after `Connected to server!` (NICK-CHAT-2) as `<nick>: <text>`
         in one write (NICK-CHAT-1); refuse non-ASCII lines and go on (ENC-NICK-1, CLIENT-INPUT-1).
  tilde  validate the username (TILDE-USER-2); send it first, alone (TILDE-USER-1); content only
         after the own `SERVER~<user> added to the chat` (TILDE-MSG-1); display each chunk split at
         its first `~` (TILDE-DISPLAY-1), holding back a character split between chunks (FRAME-4).
  both   decode with U+FFFD instead of raising (CLIENT-BYTES-1); on EOF report and exit (CLIENT-EOF-1);
         at the end of its input close and exit (CLIENT-EOF-2); a refused connect on stderr, exit 1
         (CLIENT-CONNECT-1); TCP_NODELAY (FRAME-3).
"""
import argparse
import codecs
import os
import socket
import sys
import threading
import time

DEFECTS = {
    'none': 'no defect: a conformant client',
    'no-prefix': 'NICK: sends the typed text without "<nick>: "',
    'sends-before-prompt': 'NICK: sends the nickname as soon as it is connected, before the prompt',
    'shows-prompt': 'NICK: prints the prompt token',
    'spins-on-eof': 'loops on recv() returning b"" when the server closes (busy loop, no exit)',
    'crashes-on-bad-bytes': 'decodes strictly: undecodable bytes end the receive thread',
    'split-at-every-tilde': "tilde: shows split('~')[1], cutting content at its second '~'",
    'sends-before-added': 'sends typed lines before the handshake completes (NICK: Connected to server!, tilde: added)',
    'two-writes-per-message': 'writes each message with two writes (NICK: prefix, then text; tilde: first character, then the rest)',
    'no-validation': 'sends whatever nickname / username was typed, unchecked (encoded as UTF-8)',
    'stays-after-input-ends': 'when its input ends, stops sending but keeps the connection and the process alive',
}
DIALECT_ONLY = {
    'no-prefix': 'nick',
    'sends-before-prompt': 'nick',
    'shows-prompt': 'nick',
    'split-at-every-tilde': 'tilde',
}
CONNECTED = b'Connected to server!'
RECV_SIZE = {'nick': 1024, 'tilde': 2048}
MAX_NAME_BYTES = 32
MAX_NICK_MESSAGE = 1024
MAX_TILDE_CONTENT = 2015
# The gap between the two writes of `two-writes-per-message`, so they reach the reader as two chunks.
SPLIT_WRITE_GAP_S = 0.1


def say(text):
    print(text, flush=True)


def complain(text):
    print(text, file=sys.stderr, flush=True)


def valid_nickname(nick):
    data = nick.encode('utf-8')
    return 1 <= len(data) <= MAX_NAME_BYTES and all(0x21 <= b <= 0x7e and b != 0x3a for b in data)


def valid_username(user):
    data = user.encode('utf-8')
    if not 1 <= len(data) <= MAX_NAME_BYTES or user == 'SERVER' or '~' in user:
        return False
    return not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in user)


class Client:
    def __init__(self, args):
        self.dialect = args.dialect
        self.defect = args.defect
        self.prompt = args.prompt.encode('ascii')
        self.host, self.port = args.host, args.port
        self.sock = None
        self.name = ''
        self.joined = threading.Event()
        self.prompt_seen = False
        self.name_sent = False
        self.pending = b''  # NICK: bytes received before the prompt was recognised
        self.window = b''  # NICK: recent bytes, to find `Connected to server!` across chunks
        self.held = b''  # tilde: a chunk that ends inside a character

    # -- the wire ------------------------------------------------------------------------------
    def write(self, data, split_at=None):
        if self.defect == 'two-writes-per-message' and split_at:
            self.sock.sendall(data[:split_at])
            time.sleep(SPLIT_WRITE_GAP_S)
            self.sock.sendall(data[split_at:])
        else:
            self.sock.sendall(data)

    def connect(self):
        self.sock = socket.create_connection((self.host, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- receiving -----------------------------------------------------------------------------
    def receive(self):
        errors = 'strict' if self.defect == 'crashes-on-bad-bytes' else 'replace'
        decoder = codecs.getincrementaldecoder('ascii' if self.dialect == 'nick' else 'utf-8')(errors)
        while True:
            try:
                data = self.sock.recv(RECV_SIZE[self.dialect])
            except OSError as error:
                say(f'disconnected: {error}')
                os._exit(1)
            if not data:
                if self.defect == 'spins-on-eof':
                    continue
                say('disconnected by server')
                self.sock.close()
                os._exit(0)
            if self.dialect == 'nick':
                self.receive_nick(data, decoder)
            else:
                self.receive_tilde(data, decoder)

    def receive_nick(self, data, decoder):
        if not self.prompt_seen:
            self.pending += data
            if len(self.pending) < len(self.prompt) and self.prompt.startswith(self.pending):
                return  # a prompt split by TCP: wait for the rest (NICK-PROMPT-2 puts nothing before it)
            data, self.pending = self.pending, b''
            if data.startswith(self.prompt):
                self.prompt_seen = True
                if self.defect == 'shows-prompt':
                    say(self.prompt.decode('ascii'))
                data = data[len(self.prompt):]
                if not self.name_sent:
                    self.send_name()
            if not data:
                return
        if not self.joined.is_set():
            # `Connected to server!` may arrive merged with `<nick> joined!`, or split: search a window.
            self.window = (self.window + data)[-(len(CONNECTED) + len(data)):]
            if CONNECTED in self.window:
                self.joined.set()
        text = decoder.decode(data)
        if text:
            say(text)

    def receive_tilde(self, data, decoder):
        # Chunk profile with the hold-back rule (FRAME-4): a chunk that ends inside a character is
        # held back whole and taken together with the next chunk.
        data = self.held + data
        probe = codecs.getincrementaldecoder('utf-8')('replace')
        probe.decode(data, final=False)
        if probe.getstate()[0] and len(data) < RECV_SIZE['tilde']:
            self.held = data
            return
        self.held = b''
        text = decoder.decode(data)
        if not text:
            return
        if not self.joined.is_set() and text.startswith(f'SERVER~{self.name} added to the chat'):
            self.joined.set()
        if '~' not in text:
            say(text)
        elif self.defect == 'split-at-every-tilde':
            parts = text.split('~')
            say(f'[{parts[0]}] {parts[1]}')
        else:
            user, content = text.split('~', 1)
            say(f'[{user}] {content}')

    # -- sending -------------------------------------------------------------------------------
    def send_name(self):
        self.name_sent = True
        self.write(self.name.encode('utf-8'))

    def send_line(self, line):
        if self.dialect == 'nick':
            if not line.isascii() or any(ord(c) < 0x20 and c != '\t' or ord(c) == 0x7f for c in line):
                complain('not sent: the NICK dialect carries only printable ASCII and TAB')
                return
            prefix = b'' if self.defect == 'no-prefix' else f'{self.name}: '.encode('ascii')
            data = prefix + line.encode('ascii')
            if len(data) > MAX_NICK_MESSAGE:
                complain('not sent: longer than 1024 bytes')
                return
            self.write(data, split_at=len(prefix) or 1)
        else:
            if line == '':
                complain('Message cannot be empty')
                return
            data = line.encode('utf-8')
            if len(data) > MAX_TILDE_CONTENT:
                complain('not sent: longer than 2015 bytes')
                return
            self.write(data, split_at=len(line[0].encode('utf-8')))

    # -- the program ---------------------------------------------------------------------------
    def run(self):
        try:
            name = input()
        except EOFError:
            complain('no nickname')
            sys.exit(2)
        valid = valid_nickname if self.dialect == 'nick' else valid_username
        if self.defect != 'no-validation' and not valid(name):
            complain(f'invalid {"nickname" if self.dialect == "nick" else "username"}: {name!r}')
            sys.exit(2)
        self.name = name
        try:
            self.connect()
        except OSError as error:
            complain(f'cannot connect: {error}')
            sys.exit(1)
        if self.dialect == 'tilde' or self.defect == 'sends-before-prompt':
            self.send_name()
        threading.Thread(target=self.receive, daemon=True).start()
        while True:
            try:
                line = input()
            except EOFError:
                break
            if self.defect != 'sends-before-added':
                self.joined.wait()
            self.send_line(line)
        if self.defect == 'stays-after-input-ends':
            threading.Event().wait()  # stop sending, keep showing what arrives (like the seeds)
        self.sock.close()  # end of input: close and exit (CLIENT-EOF-2)
        os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dialect', choices=['nick', 'tilde'], required=True)
    parser.add_argument('--defect', choices=sorted(DEFECTS), default='none')
    parser.add_argument('--prompt', default='NICK', help='NICK prompt token (Hii for the variant)')
    parser.add_argument('host')
    parser.add_argument('port', type=int)
    args = parser.parse_args()
    only = DIALECT_ONLY.get(args.defect)
    if only and only != args.dialect:
        parser.error(f'--defect {args.defect} applies to the {only} dialect only')
    Client(args).run()


if __name__ == '__main__':
    main()
