/**
 * Steps shared by the extension profiles' cases (spec §14): the admin's handshake, a command sent
 * as a legacy client sends it, and proofs of absence paced on a sentinel.
 *
 * @module
 */
import type { ServerCaseContext, Member } from '../harness/context.js';
import { CONNECTED, NICK_CASE_TIMEOUT_MS, prompted, sentinel } from '../nick/support.js';

/** What every extension case shares: NICK server cases. */
export const EXT_SERVER = { kind: 'server', dialect: 'nick', timeoutMs: NICK_CASE_TIMEOUT_MS } as const;

/** The reserved nickname (ADMIN-PASS-1). */
export const ADMIN = 'admin';

/**
 * Joins as `admin` (ADMIN-PASS-1, ADMIN-PASS-2): the prompt, the nickname, `PASS`, the password,
 * then `Connected to server!`.
 */
export async function joinAdmin(t: ServerCaseContext, password: string): Promise<Member> {
  const { conn, at } = await prompted(t, ADMIN);
  conn.send(t.wire(ADMIN));
  const passAt = await t.expectReceives(conn, ['PASS'], {
    requirement: 'ADMIN-PASS-1',
    what: 'the server asks the nickname admin for the password with "PASS"',
    after: at,
  });
  conn.send(password);
  const joinedAt = await t.expectReceives(conn, [CONNECTED], {
    requirement: 'ADMIN-PASS-2',
    what: `"${CONNECTED}" after the right password`,
    after: passAt,
  });
  return { conn, nick: ADMIN, joinedAt };
}

/**
 * Proves that `observers` got none of `forbidden` since `marks`: `from` writes a sentinel, which
 * each observer receives after anything the server meant to send it earlier (§3.7 item 5).
 */
export async function expectNoneSince(
  t: ServerCaseContext,
  from: Member,
  observers: readonly { member: Member; mark: number }[],
  forbidden: readonly string[],
  options: { requirement: string; what: string },
): Promise<void> {
  await sentinel(
    t,
    from,
    observers.map((o) => o.member),
    options.requirement,
  );
  for (const { member, mark } of observers) {
    t.expectAbsent(member.conn, forbidden, { ...options, what: `${options.what}`, after: mark });
  }
}
