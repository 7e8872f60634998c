/**
 * Spec 1.0 TRANSPORT-1 / TRANSPORT-3 and long names (issue 15, ambiguity 5). Refusing a name over
 * 32 bytes is only a SHOULD (TILDE-USER-3, NICK-NICK-3); what is a MUST is that every message still
 * fits its dialect's bound (TRANSPORT-3: 1024 bytes NICK, 2048 bytes tilde), so a server that admits
 * long names refuses one whose announcement would not fit and cuts tilde content to
 * 2047 − len(user) bytes. A program speaks one dialect (TRANSPORT-1): each fixture is judged in its
 * own only. With the careful student servers of test/fixtures/framing:
 * - refusing names over 32 bytes (the default): the name cases pass, at the limit (32 bytes,
 *   admitted) and one past it (33, refused);
 * - admitting names up to the TRANSPORT-3 bound (`--max-name`): the whole suite passes but for one
 *   warning, on the SHOULD, naming the 33-byte name, and nothing fails;
 * - on that server, the TRANSPORT-3 boundary itself, on the wire: the longest name whose
 *   announcement fits is admitted (its announcement exactly at the bound) and its relays stay within
 *   the bound; one byte more is refused and never announced.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import type { CaseResult } from '../../conformance/harness/report.js';
import { runCases } from '../../conformance/harness/runner.js';
import { selectCases } from '../../conformance/harness/select.js';
import { freePort, pythonExecutable, spawnTarget, type TargetHandle } from '../../src/processes/index.js';
import type { DialectName } from '../../src/codec/index.js';
import { NICK_MESSAGE_MAX_BYTES, TILDE_MESSAGE_MAX_BYTES } from '../../src/limits.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** Bound on one run of the suite (every case, two at a time, each on a fresh process). */
const RUN_TIMEOUT_MS = 300_000;
/** Bound on each wait of the wire checks. */
const WAIT_MS = 10_000;

vi.setConfig({ maxConcurrency: 2 });

const fixture = (dialect: DialectName) => join(PACKAGE_ROOT, `test/fixtures/framing/${dialect}_server.py`);

/** What the announcement of `name` adds around it, and the bound it must fit (TRANSPORT-3). */
const ANNOUNCEMENT = {
  tilde: { before: 'SERVER~', after: ' added to the chat', bound: TILDE_MESSAGE_MAX_BYTES },
  nick: { before: '', after: ' joined!', bound: NICK_MESSAGE_MAX_BYTES },
} as const;
/** The longest name whose announcement fits: tilde 2023 bytes, NICK 1016. */
const longestName = (dialect: DialectName) => {
  const a = ANNOUNCEMENT[dialect];
  return a.bound - a.before.length - a.after.length;
};

/** The invalid-name case of each dialect (it holds the 33-byte row) and the SHOULD it judges. */
const NAME_CASE = {
  tilde: { id: 'tilde.user.refuse-invalid', requirement: 'TILDE-USER-3' },
  nick: { id: 'nick.handshake.invalid-nick', requirement: 'NICK-NICK-3' },
} as const;

const casesOf = (dialect: DialectName) =>
  selectCases(ALL_CASES, { dialect, kind: 'server', profiles: ['core', 'robustness'] });

const run = (dialect: DialectName, ids: readonly string[] | undefined, ...flags: string[]): Promise<CaseResult[]> =>
  runCases(
    casesOf(dialect).filter((c) => ids === undefined || ids.includes(c.id)),
    {
      target: {
        kind: 'spawn',
        command: `'${pythonExecutable()}' '${fixture(dialect)}' ${flags.join(' ')} 127.0.0.1 {port}`,
      },
      dialect,
      jobs: 2,
    },
  );

const explain = (results: readonly CaseResult[]): string =>
  results
    .filter((r) => r.verdict !== 'pass')
    .map((r) => `${r.id}: ${r.verdict} [${r.failure?.requirement ?? ''}] ${r.failure?.message ?? r.error ?? ''}`)
    .join('\n');

describe.concurrent('long names: a SHOULD to refuse them, a MUST to keep every message within its bound', () => {
  it('tilde, names refused over 32 bytes: 32 bytes is admitted (max-content), 33 is refused; both cases pass', {
    timeout: RUN_TIMEOUT_MS,
  }, async () => {
    const results = await run('tilde', [NAME_CASE.tilde.id, 'tilde.relay.max-content']);
    expect(results).toHaveLength(2);
    expect(explain(results)).toBe('');
  });

  it('NICK, names refused over 32 bytes: the invalid-name case (33 bytes) passes', { timeout: RUN_TIMEOUT_MS }, async () => {
    const results = await run('nick', [NAME_CASE.nick.id]);
    expect(results).toHaveLength(1);
    expect(explain(results)).toBe('');
  });

  for (const dialect of ['tilde', 'nick'] as const) {
    it(`${dialect}, long names admitted within TRANSPORT-3: one warning, on ${NAME_CASE[dialect].requirement}, for the 33-byte name; nothing fails`, {
      timeout: RUN_TIMEOUT_MS,
    }, async () => {
      const results = await run(dialect, undefined, '--max-name', String(longestName(dialect)));
      expect(results.map((r) => r.id)).toEqual(casesOf(dialect).map((c) => c.id));
      const notPassed = results.filter((r) => r.verdict !== 'pass');
      expect(notPassed.map((r) => r.id), explain(results)).toEqual([NAME_CASE[dialect].id]);
      const [warned] = notPassed;
      expect(warned!.verdict).toBe('warn');
      expect(warned!.failure?.requirement).toBe(NAME_CASE[dialect].requirement);
      // Only the over-long row: every other invalid name (`~`, controls, `:`, space) is still refused.
      const long = dialect === 'tilde' ? /admitted a username of 33 bytes/ : /n{4,}/;
      expect(warned!.failure?.message).toMatch(long);
      if (dialect === 'tilde') expect(warned!.failure?.message).not.toMatch(/of \d+ invalid usernames were not refused/);
    });
  }
});

// One after another: each check reads its members' whole streams, which another check's joins would add to.
describe('the TRANSPORT-3 boundary on a server that admits long names', () => {
  const servers = new Map<DialectName, TargetHandle>();
  const open: Connection[] = [];
  beforeAll(async () => {
    for (const dialect of ['tilde', 'nick'] as const) {
      const port = await freePort();
      servers.set(
        dialect,
        await spawnTarget({
          command: [pythonExecutable(), fixture(dialect), '--max-name', String(longestName(dialect) + 100), '127.0.0.1', String(port)],
          port,
        }),
      );
    }
  }, 60_000);
  afterAll(async () => {
    for (const c of open) c.close();
    for (const s of servers.values()) await s.stop();
  });

  /** Connects and sends `name` (after the prompt in NICK); returns the connection. */
  async function joinAs(dialect: DialectName, name: string, label: string): Promise<Connection> {
    const conn = await openConnection({ port: servers.get(dialect)!.port!, label });
    open.push(conn);
    if (dialect === 'nick') await conn.waitForText('NICK', { timeoutMs: WAIT_MS });
    conn.send(name);
    return conn;
  }

  for (const dialect of ['tilde', 'nick'] as const) {
    const { before, after, bound } = ANNOUNCEMENT[dialect];
    const at = longestName(dialect);

    it(`${dialect}: a ${at}-byte name is admitted with an announcement of exactly ${bound} bytes; ${at + 1} bytes is refused, never announced`, async () => {
      // Distinct names so the two attempts cannot collide as duplicates.
      const fits = 'a'.repeat(at);
      const over = 'b'.repeat(at + 1);
      const member = await joinAs(dialect, fits, 'at the bound');
      const announcement = `${before}${fits}${after}`;
      expect(Buffer.byteLength(announcement)).toBe(bound);
      await member.waitForText(announcement, { timeoutMs: WAIT_MS });
      const refused = await joinAs(dialect, over, 'one past');
      await refused.waitForClose({ timeoutMs: WAIT_MS });
      expect(Buffer.from(refused.stream()).toString('latin1')).toMatch(
        dialect === 'tilde' ? /^(SERVER~Refused: [^\n]*)?$/ : /^NICK(Refused: [^\n]*)?$/,
      );
      // Paced by a second member's own announcement: anything about the refused one came before it.
      await joinAs(dialect, 'witness', 'witness');
      await member.waitForText(`${before}witness${after}`, { timeoutMs: WAIT_MS });
      expect(Buffer.from(member.stream()).includes(over)).toBe(false);
    });
  }

  it(`tilde: content from the ${longestName('tilde')}-byte user is relayed in pieces that keep each relay within ${TILDE_MESSAGE_MAX_BYTES} bytes`, async () => {
    const user = 'c'.repeat(longestName('tilde'));
    const member = await joinAs('tilde', user, 'long user');
    await member.waitForText(`SERVER~${user} added to the chat`, { timeoutMs: WAIT_MS });
    const mark = member.stream().length;
    const content = `${'é'.repeat(40)}end`; // 83 bytes: more than the 24 bytes a relay of this user can carry
    member.send(content);
    const prefix = Buffer.from(`${user}~`);
    const pieces: Buffer[] = [];
    await member.waitFor(
      (s) => {
        const relays = Buffer.from(s.subarray(mark));
        pieces.length = 0;
        for (let i = relays.indexOf(prefix); i !== -1; ) {
          const next = relays.indexOf(prefix, i + prefix.length);
          pieces.push(relays.subarray(i + prefix.length, next === -1 ? relays.length : next));
          i = next;
        }
        return Buffer.concat(pieces).toString('utf8') === content;
      },
      { timeoutMs: WAIT_MS, what: 'every piece of the content relayed back' },
    );
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) {
      expect(prefix.length + piece.length).toBeLessThanOrEqual(TILDE_MESSAGE_MAX_BYTES);
      // Each piece is whole characters (TILDE-RELAY-3): it decodes without a replacement character.
      expect(piece.toString('utf8')).not.toContain('\ufffd');
    }
  });
});
