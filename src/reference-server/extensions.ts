/**
 * The extension profiles on the server side (spec §14): which profiles are on, the ban list, and
 * what a member's frame asks for. No sockets here: the server executes the commands this module
 * recognises, so the parsing is testable on its own and the wire forms come from the generated
 * tables (`spec/dialects/extensions/*.yaml`).
 *
 * @module
 */
import { appendFileSync, readFileSync } from 'node:fs';
// The codec's own modules, not its index: the index re-exports the zod schemas (src/codec/check.ts).
import {
  commandText,
  decodeExtension,
  encodeExtension,
  type ExtensionMessageOf,
  withoutLineEnding,
} from '../codec/extension.js';
import { decodeLossy } from '../codec/text.js';

/** The nickname the admin profile reserves (ADMIN-PASS-1). */
export const ADMIN_NICK = 'admin';
/** The room every newcomer enters under the rooms profile: the legacy room (ROOM-1). */
export const DEFAULT_ROOM = 'lobby';

/** The extension profiles a server runs with; every one off by default (EXT-1). */
export interface ExtensionSettings {
  /** `admin` is on when a password is set (ADMIN-PASS-1). */
  readonly adminPassword: string | undefined;
  /** The ban list's file (ADMIN-BAN-2); without it bans last until the server stops. */
  readonly banFile: string | undefined;
  /** The `commands` profile (§14.3). */
  readonly commands: boolean;
  /** The `rooms` profile (§14.4). */
  readonly rooms: boolean;
}

/** The profiles that are on, by name (what `chatkit connect`'s `/help` lists). */
export function enabledProfiles(settings: ExtensionSettings): ('admin' | 'commands' | 'rooms')[] {
  return [
    ...(settings.adminPassword !== undefined ? (['admin'] as const) : []),
    ...(settings.commands ? (['commands'] as const) : []),
    ...(settings.rooms ? (['rooms'] as const) : []),
  ];
}

/**
 * The banned nicknames (ADMIN-BAN-1), read from the file when the server starts and appended to by
 * every ban, one nickname per LF-terminated line (ADMIN-BAN-2). A missing file is an empty list.
 */
export class BanList {
  readonly #names = new Set<string>();
  readonly #file: string | undefined;
  readonly #onError: (error: Error) => void;

  /** Loads `file` if it exists; `onError` hears of a failed append (the ban still holds in memory). */
  constructor(file: string | undefined, onError: (error: Error) => void) {
    this.#file = file;
    this.#onError = onError;
    if (file === undefined) return;
    let text = '';
    try {
      text = readFileSync(file, 'latin1');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      const name = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (name !== '') this.#names.add(name);
    }
  }

  /** Whether `nick` is banned (same bytes, as NICK-NICK-4 compares). */
  has(nick: string): boolean {
    return this.#names.has(nick);
  }

  /** Bans `nick` and appends it to the file (once). */
  add(nick: string): void {
    if (this.#names.has(nick)) return;
    this.#names.add(nick);
    if (this.#file !== undefined) {
      // Written before the kick is announced (a ban is a rare admin act, the line a few bytes): a
      // restart at any later moment keeps it (ADMIN-BAN-2). The asynchronous append waited for the
      // thread pool, which a loaded machine delays past the next restart.
      try {
        appendFileSync(this.#file, `${nick}\n`, 'latin1');
      } catch (error) {
        this.#onError(error as Error);
      }
    }
  }
}

/** What a member's frame asks the server to do, when it is an extension command. */
export type MemberCommand =
  | ExtensionMessageOf<'admin'>
  | ExtensionMessageOf<'commands'>
  | ExtensionMessageOf<'rooms'>
  /** `/nick` or `/join` with a name that is not valid: answered with a refusal (CMD-NICK-1, ROOM-JOIN-1). */
  | { readonly type: 'badRename'; readonly name: string }
  | { readonly type: 'badJoin'; readonly name: string };

/**
 * The extension command in a member's frame, or undefined when the frame is chat (relayed as
 * NICK-RELAY-1 says). `admin` commands are the whole chunk (ADMIN-KICK-1: `KICK <nick>`), the
 * others may follow the sender's own `<nick>: ` (CMD-1). `/nick …` and `/join …` are commands
 * whatever follows them, so an invalid name is refused rather than relayed.
 */
export function memberCommand(settings: ExtensionSettings, nick: string, frame: Uint8Array): MemberCommand | undefined {
  if (settings.adminPassword !== undefined) {
    const admin = decodeExtension('admin', 'toServer', withoutLineEnding(decodeLossy(frame, 'ascii')));
    if (admin !== undefined) return admin;
  }
  if (!settings.commands && !settings.rooms) return undefined;
  const text = commandText(frame, nick);
  if (settings.commands) {
    const command = decodeExtension('commands', 'toServer', text);
    if (command !== undefined) return command;
    if (text.startsWith('/nick ')) return { type: 'badRename', name: text.slice('/nick '.length) };
  }
  if (settings.rooms) {
    const command = decodeExtension('rooms', 'toServer', text);
    if (command !== undefined) return command;
    if (text.startsWith('/join ')) return { type: 'badJoin', name: text.slice('/join '.length) };
  }
  return undefined;
}

/** The password a connection answered `PASS` with: the chunk, one trailing LF or CRLF removed (ADMIN-PASS-1). */
export function passwordOf(frame: Uint8Array): string {
  return withoutLineEnding(decodeLossy(frame, 'ascii'));
}

/** A printable form of a name a user typed, for an answer that echoes it (never a control byte). */
export function printable(name: string): string {
  const clean = name.replace(/[^\x20-\x7e]/g, '?');
  return clean === '' ? '?' : clean.slice(0, 64);
}

/** Encoders of the answers, one place for the server and the tests. */
export const answers = {
  pass: () => encodeExtension('admin', { type: 'pass' }),
  refuse: () => encodeExtension('admin', { type: 'refuse' }),
  banned: () => encodeExtension('admin', { type: 'banned' }),
  kicked: () => encodeExtension('admin', { type: 'kicked' }),
  kickNotice: (nick: string) => encodeExtension('admin', { type: 'kickNotice', nick }),
  commandRefused: () => encodeExtension('admin', { type: 'commandRefused' }),
  userList: (nicks: readonly string[]) => encodeExtension('commands', { type: 'userList', nicks: nicks.join(', ') }),
  private: (from: string, to: string, text: string) =>
    encodeExtension('commands', { type: 'private', from, to, text }),
  noSuchUser: (name: string) => encodeExtension('commands', { type: 'noSuchUser', name: printable(name) }),
  renamed: (old: string, nick: string) => encodeExtension('commands', { type: 'renamed', old, new: nick }),
  renameRefused: (reason: string) => encodeExtension('commands', { type: 'renameRefused', reason }),
  roomJoined: (nick: string, room: string) => encodeExtension('rooms', { type: 'roomJoined', nick, room }),
  roomLeft: (nick: string, room: string) => encodeExtension('rooms', { type: 'roomLeft', nick, room }),
  roomList: (rooms: readonly (readonly [string, number])[]) =>
    encodeExtension('rooms', { type: 'roomList', list: rooms.map(([r, n]) => `${r} (${n})`).join(', ') }),
  badRoom: (name: string) => encodeExtension('rooms', { type: 'badRoom', name: printable(name) }),
};
