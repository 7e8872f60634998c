/**
 * tilde dialect, `robustness` profile: usernames the server should refuse (spec/PROTOCOL.md §5.3,
 * TILDE-USER-3, and §6.4 ROBUST-BAD-1). A refusal is `SERVER~Refused: <reason>` then a close, or a
 * close alone; a refused connection is never announced (no `added`, no `left`), and the server
 * goes on serving everyone else.
 *
 * @module
 */
import { CASE_TIMEOUT_MS, type FailureDetails, type ServerCase } from '../harness/case.js';
import type { Connection } from '../harness/connection.js';
import type { Member, ServerCaseContext } from '../harness/context.js';
import { STEP_TIMEOUT_MS } from '../harness/timing.js';
import { show, utf8, waitForAny } from './support.js';

const tilde = { kind: 'server', dialect: 'tilde', profile: 'robustness' } as const;

const REFUSED = 'SERVER~Refused: ';
const NAME_MAX_BYTES = 32;

/** What a refusal case sends, and what shows that the server admitted it anyway. */
interface BadUsername {
  /** The username chunk, as written. */
  readonly bytes: Uint8Array;
  /** Bytes that appear only if the server announced this connection (admitted it). */
  readonly admitted: Uint8Array;
  /** Escaped, for reports. */
  readonly shown: string;
}

/** One row: the case id suffix, what is wrong with the username, and how to build it. */
interface Row {
  readonly id: string;
  readonly what: string;
  readonly hint: string;
  /** `taken` is a member's username (for the duplicate). */
  make(t: ServerCaseContext, taken: string): BadUsername;
}

const bad = (bytes: Uint8Array, admitted: string | Uint8Array): BadUsername => ({
  bytes,
  admitted: typeof admitted === 'string' ? utf8(admitted) : admitted,
  shown: show(bytes),
});

const ROWS: readonly Row[] = [
  {
    id: 'tilde',
    what: 'a username containing `~`',
    hint: "if '~' in username: send 'SERVER~Refused: username contains ~' and close the socket",
    make: (t) => {
      const nick = t.nick('tl');
      return bad(utf8(`${nick}~b`), `SERVER~${nick}`);
    },
  },
  {
    id: 'control',
    what: 'a username containing a control character (U+0001)',
    hint: 'if any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in username): refuse it and close the socket',
    make: (t) => {
      const nick = t.nick('ctl');
      return bad(utf8(`${nick}\x01`), `SERVER~${nick}`);
    },
  },
  {
    id: 'server',
    what: 'the reserved username `SERVER` (it would forge server notices)',
    hint: "if username == 'SERVER': refuse it (a member called SERVER can send 'SERVER~...' notices)",
    make: () => bad(utf8('SERVER'), 'SERVER~SERVER'),
  },
  {
    id: 'long',
    what: 'a username of 33 bytes (the limit is 32)',
    hint: 'if len(username.encode()) > 32: refuse it and close the socket',
    make: (t) => {
      const nick = t.nick('long');
      const name = nick + 'x'.repeat(NAME_MAX_BYTES + 1 - utf8(nick).length);
      return bad(utf8(name), `SERVER~${nick}`);
    },
  },
  {
    id: 'duplicate',
    what: 'a username a member already uses (the same bytes)',
    hint: 'if the username is already in your list of usernames: refuse it and close the socket',
    make: (t, taken) => bad(utf8(taken), t.announcement('joined', taken)),
  },
  {
    id: 'invalid-utf8',
    what: 'a username that is not UTF-8 (byte 0xFF)',
    hint: "wrap username = data.decode('utf-8') in try/except UnicodeDecodeError: refuse and close, instead of letting the thread die with the connection open",
    make: (t) => {
      const nick = t.nick('bad');
      return bad(new Uint8Array([...utf8(nick), 0xff]), `SERVER~${nick}`);
    },
  },
];

const indexOf = (haystack: Uint8Array, needle: Uint8Array, from: number) =>
  Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from);

const never = new Promise<never>(() => {});

const EXPECTED_REFUSAL = (admitted: string) => [
  `on the new connection: "${REFUSED}<reason>" then a close`,
  'on the new connection: a close without any message',
  `in both cases no "${admitted}..." to anyone`,
];

/**
 * Sends one bad username on a fresh connection while `alice` watches, and returns what went wrong
 * (admitted, left hanging, sent something else, announced), or undefined when it was refused.
 */
async function tryRefusal(t: ServerCaseContext, alice: Member, row: Row, taken: string): Promise<FailureDetails | undefined> {
  const mark = alice.conn.stream().length;
  const name = row.make(t, taken);
  const r = await t.connect(`refused ${row.id}`);
  // Under the line profile every message, the username included, ends with LF (§8).
  r.send(t.framing === 'line' ? new Uint8Array([...name.bytes, 0x0a]) : name.bytes);
  const admittedOn = (conn: Connection, after: number) =>
    conn
      .waitFor((s) => indexOf(s, name.admitted, after) !== -1, {
        timeoutMs: t.timing.stepMs,
        what: 'the bad username announced',
      })
      .then(
        () => 'admitted' as const,
        () => never,
      );
  const outcome = await Promise.race([
    admittedOn(alice.conn, mark),
    admittedOn(r, 0),
    r.waitForClose({ timeoutMs: t.timing.stepMs }).then(
      () => 'closed' as const,
      () => never,
    ),
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), t.timing.stepMs + 100)),
  ]);
  const expected = EXPECTED_REFUSAL(show(name.admitted));
  if (outcome === 'admitted') {
    return {
      requirement: 'TILDE-USER-3',
      message: `the server admitted ${row.what} ("${name.shown}") and announced it`,
      expected,
      actual: `alice received: "${t.tail(alice.conn, mark)}"; the new connection received: "${t.tail(r)}"`,
      connection: r.label,
    };
  }
  if (outcome === 'timeout') {
    return {
      requirement: 'TILDE-USER-3',
      message: `after ${row.what} ("${name.shown}"), the connection was neither refused nor admitted within ${t.timing.stepMs} ms: it is left hanging`,
      expected,
      actual: `still open; it received: "${t.tail(r)}"`,
      connection: r.label,
    };
  }
  const got = r.stream();
  if (got.length > 0 && indexOf(got, utf8(REFUSED), 0) !== 0) {
    return {
      requirement: 'TILDE-JOIN-2',
      message: `before closing a refused connection (${row.what}), the server sent it something other than one refusal`,
      expected,
      actual: `"${t.tail(r)}"`,
      connection: r.label,
    };
  }
  // Nothing about the refused connection reaches the members: its leave is not announced either.
  await alice.conn.quiet(t.timing.quietMs);
  if (indexOf(alice.conn.stream(), name.admitted, mark) !== -1) {
    return {
      requirement: 'TILDE-USER-3',
      message: `a refused connection (${row.what}, "${name.shown}") was announced to the members`,
      expected: [`no "${show(name.admitted)}"`],
      actual: t.tail(alice.conn, mark),
      connection: alice.conn.label,
    };
  }
  return undefined;
}

/** Two members, alice and bob, each seeing the other's announcement: the audience of a refusal. */
async function twoMembers(t: ServerCaseContext): Promise<{ alice: Member; bob: Member }> {
  const alice = await t.join(t.nick('alice'));
  const bob = await t.join(t.nick('bob'));
  await t.expectReceives(alice.conn, [t.joined(bob.nick)], {
    requirement: 'TILDE-JOIN-1',
    what: "an existing member receives the second member's announcement",
    after: alice.joinedAt,
  });
  return { alice, bob };
}

const shared = {
  ...tilde,
  // A server that greets a connection before its username breaks every refusal's "nothing before".
  standsOn: ['tilde.handshake.nothing-before-username'],
  title: '',
  requirements: ['TILDE-USER-3', 'ROBUST-BAD-1', 'TILDE-JOIN-2'],
  level: 'SHOULD',
} as const;

const INVALID = ROWS.filter((row) => row.id !== 'duplicate');
const DUPLICATE = ROWS.find((row) => row.id === 'duplicate')!;

/**
 * Every rule of an invalid username is judged by one case: a server without any check is one bug,
 * one warning, whose message lists each username it let in (and each rule's fix in the hint).
 */
const refuseInvalid: ServerCase = {
  ...shared,
  id: 'tilde.user.refuse-invalid',
  catches: ['D-TS-5', 'D-TS-6'],
  title: `refuses invalid usernames (${INVALID.map((row) => row.what).join('; ')}): \`SERVER~Refused: <reason>\` then a close, or a silent close, never announced`,
  // One refusal after another, each bounded by the step bound.
  timeoutMs: CASE_TIMEOUT_MS + INVALID.length * STEP_TIMEOUT_MS,
  hint: `Validate the username before adding the client to the list: ${INVALID.map((row) => row.hint).join('; ')}.`,
  async run(t) {
    const { alice, bob } = await twoMembers(t);
    const problems: FailureDetails[] = [];
    // Not UTF-8 last: the seed leaves that connection open until the next one is accepted (D-TS-5).
    for (const row of INVALID) {
      const problem = await tryRefusal(t, alice, row, bob.nick);
      if (problem) problems.push(problem);
    }
    const first = problems[0];
    if (first !== undefined) {
      t.fail({
        ...first,
        message:
          problems.length === 1
            ? first.message
            : `${problems.length} of ${INVALID.length} invalid usernames were not refused: ${problems.map((p) => p.message).join('; ')}`,
        actual: problems.map((p) => p.actual).join(' | '),
      });
    }
    await t.expectStillServing('ROBUST-BAD-1', 'refused usernames');
  },
};

const refuseDuplicate: ServerCase = {
  ...shared,
  id: 'tilde.user.refuse-duplicate',
  catches: ['D-TS-6'],
  title: `refuses ${DUPLICATE.what}: \`SERVER~Refused: <reason>\` then a close, or a silent close, never announced`,
  hint: `Validate the username before adding the client to the list: ${DUPLICATE.hint}.`,
  async run(t) {
    const { alice, bob } = await twoMembers(t);
    const problem = await tryRefusal(t, alice, DUPLICATE, bob.nick);
    if (problem) t.fail(problem);
    await t.expectStillServing('ROBUST-BAD-1', `a refused username ("${show(bob.nick)}")`);
  },
};

export const TILDE_USERNAME_CASES: readonly ServerCase[] = [
  refuseInvalid,
  refuseDuplicate,
  {
    ...tilde,
    id: 'tilde.user.trailing-newline',
    standsOn: ['tilde.join.broadcast'],
    catches: ['D-TS-6'],
    title: 'admits a username sent with one trailing LF or CRLF (as `nc` sends it) under the name without it',
    requirements: ['TILDE-USER-3'],
    level: 'SHOULD',
    hint: "Strip one trailing '\\n' or '\\r\\n' from the username chunk before validating it (username = data.decode('utf-8').removesuffix('\\n').removesuffix('\\r')).",
    async run(t) {
      if (t.framing === 'line')
        t.skip('under the line profile every username ends with LF by definition (§8)');
      for (const ending of ['\n', '\r\n']) {
        const name = t.nick('nc');
        const conn = await t.connect(`nc ${show(ending)}`);
        conn.send(`${name}${ending}`);
        const right = t.joined(name);
        const found = await waitForAny(conn, [right, `SERVER~${name}${ending}`, REFUSED], {
          after: 0,
          timeoutMs: t.timing.stepMs,
          what: `the announcement of ${name}`,
        });
        if (found?.index !== 0) {
          t.fail({
            requirement: 'TILDE-USER-3',
            message: `the username "${show(name + ending)}" was ${found === undefined ? 'not admitted' : found.index === 1 ? 'admitted with its line ending' : 'refused'}: one trailing ${ending === '\n' ? 'LF' : 'CRLF'} should be removed first`,
            expected: [`"${right}"`],
            actual: `"${t.tail(conn)}"`,
            connection: conn.label,
          });
        }
      }
    },
  },
];
