/**
 * Root causes (conformance/harness/blocking.ts): one bug costs one failure. A failure of a
 * precondition whose own case failed too is `blocked` by it; a precondition failure whose case passed
 * cites the precondition's hint, or is the case's own failure when the case judges that requirement;
 * declared `standsOn` blocks; the same broken precondition in several cases fails once; failures with
 * one cause (a member closed for nothing, the server exiting the same way) fail once, at a MUST case.
 */
import { describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import { resolveRootCauses } from '../../conformance/harness/blocking.js';
import { exitedCause, hintOfCause, MEMBER_CLOSED } from '../../conformance/harness/causes.js';
import type { ConformanceCase } from '../../conformance/harness/case.js';
import type { CaseResult } from '../../conformance/harness/report.js';
import { caseResult } from './report-fixtures.js';

const byId = (id: string): ConformanceCase => {
  const c = ALL_CASES.find((x) => x.id === id);
  if (!c) throw new Error(`no case ${id}`);
  return c;
};

/** A failed result of case `id` on `requirement`, optionally marked as a precondition's failure. */
function failed(id: string, requirement: string, precondition?: string, verdict: 'fail' | 'warn' = 'fail'): CaseResult {
  const c = byId(id);
  return caseResult({
    id,
    verdict,
    requirements: c.requirements.map((r) => ({ id: r, level: 'MUST', text: '' })),
    failure: {
      requirement,
      requirementText: '',
      message: `${id} failed`,
      expected: ['x'],
      actual: 'y',
      ...(precondition ? { precondition } : { hint: c.hint }),
    },
  });
}
const passed = (id: string) => caseResult({ id, verdict: 'pass' });
const settle = (results: CaseResult[]) =>
  Object.fromEntries(
    resolveRootCauses(
      results,
      results.map((r) => byId(r.id)),
      byId,
    ).map((r) => [r.id, r]),
  );

describe('resolveRootCauses', () => {
  it('blocks a case whose precondition failed in its own case too, naming it', () => {
    const out = settle([
      failed('nick.relay.echo', 'NICK-RELAY-1'),
      failed('nick.relay.order', 'NICK-RELAY-1', 'nick.relay.echo'),
    ]);
    expect(out['nick.relay.echo']!.verdict).toBe('fail');
    expect(out['nick.relay.order']!.verdict).toBe('blocked');
    expect(out['nick.relay.order']!.blockedBy).toEqual({ id: 'nick.relay.echo', requirement: 'NICK-RELAY-1' });
  });

  it("gives a precondition's failure the hint of the case that judges it when that case passed", () => {
    const out = settle([passed('nick.join.connected'), failed('nick.relay.oversize', 'NICK-JOIN-2', 'nick.join.connected')]);
    expect(out['nick.relay.oversize']!.verdict).toBe('fail');
    expect(out['nick.relay.oversize']!.failure!.hint).toBe(byId('nick.join.connected').hint);
    expect(out['nick.relay.oversize']!.failure!.requirement).toBe('NICK-JOIN-2');
  });

  it("keeps a failure as the case's own, with its own hint, when it judges the requirement and the precondition holds", () => {
    const out = settle([passed('nick.relay.echo'), failed('nick.relay.order', 'NICK-RELAY-1', 'nick.relay.echo')]);
    expect(out['nick.relay.order']!.verdict).toBe('fail');
    expect(out['nick.relay.order']!.failure!.precondition).toBeUndefined();
    expect(out['nick.relay.order']!.failure!.hint).toBe(byId('nick.relay.order').hint);
  });

  it('blocks a failed case that declares it stands on a failed case, and never a passing one', () => {
    const out = settle([
      failed('nick.leave.reset', 'NICK-LEAVE-1'),
      failed('nick.leave.eof', 'NICK-LEAVE-1'),
      passed('nick.leave.wrong-name'),
    ]);
    expect(byId('nick.leave.eof').standsOn).toContain('nick.leave.reset');
    expect(out['nick.leave.eof']!.verdict).toBe('blocked');
    expect(out['nick.leave.wrong-name']!.verdict).toBe('pass');
  });

  it('fails once for one precondition broken the same way in several cases, at a precondition case first', () => {
    const out = settle([
      passed('nick.handshake.prompt'),
      failed('nick.relay.oversize', 'NICK-PROMPT-1', 'nick.handshake.prompt'),
      failed('nick.join.broadcast', 'NICK-PROMPT-1', 'nick.handshake.prompt'),
      failed('nick.handshake.invalid-nick', 'NICK-PROMPT-1', 'nick.handshake.prompt', 'warn'),
    ]);
    expect(out['nick.join.broadcast']!.verdict).toBe('fail');
    for (const id of ['nick.relay.oversize', 'nick.handshake.invalid-nick']) {
      expect(out[id]!.verdict, id).toBe('blocked');
      expect(out[id]!.blockedBy!.id).toBe('nick.join.broadcast');
    }
  });

  it('names the root when a case stands on one that is itself blocked', () => {
    const out = settle([
      failed('nick.relay.echo', 'NICK-RELAY-1'),
      failed('nick.leave.reset', 'NICK-RELAY-1', 'nick.relay.echo'),
      failed('nick.leave.eof', 'NICK-LEAVE-1'),
    ]);
    expect(out['nick.leave.reset']!.blockedBy!.id).toBe('nick.relay.echo');
    expect(out['nick.leave.eof']!.verdict).toBe('blocked');
    expect(out['nick.leave.eof']!.blockedBy!.id).toBe('nick.relay.echo');
  });

  it('fails once for one cause in several cases, at a fail before a warn, whatever each judged', () => {
    const exited = exitedCause({ code: 3, signal: null }, 'alice_x left (eof)\n');
    const withCause = (r: CaseResult, cause: string): CaseResult => ({ ...r, failure: { ...r.failure!, cause } });
    const out = settle([
      withCause(failed('tilde.leave.announce', 'TILDE-LEAVE-2', undefined, 'warn'), exited),
      withCause(failed('tilde.relay.invalid-utf8', 'ROBUST-BAD-1'), exited),
      withCause(failed('tilde.leave.eof', 'TILDE-LEAVE-1'), exited),
      withCause(failed('tilde.relay.order', 'TILDE-RELAY-1'), MEMBER_CLOSED),
    ]);
    // The warn is a precondition case, but a broken MUST must not hide behind a SHOULD.
    expect(out['tilde.relay.invalid-utf8']!.verdict).toBe('fail');
    for (const id of ['tilde.leave.announce', 'tilde.leave.eof']) {
      expect(out[id]!.verdict, id).toBe('blocked');
      expect(out[id]!.blockedBy).toEqual({ id: 'tilde.relay.invalid-utf8', requirement: 'ROBUST-BAD-1' });
    }
    // Another cause is another root.
    expect(out['tilde.relay.order']!.verdict).toBe('fail');
  });

  it('keys an exit by status and exception name, not by what the message names', () => {
    const one = exitedCause({ code: 1, signal: null }, 'Traceback (most recent call last):\nKeyError: \'alice_1\'\n');
    const two = exitedCause({ code: 1, signal: null }, 'Traceback (most recent call last):\nKeyError: \'bob_2\'\n');
    const other = exitedCause({ code: 1, signal: null }, 'UnicodeDecodeError: invalid start byte\n');
    expect(one).toBe(two);
    expect(one).not.toBe(other);
    expect(exitedCause({ code: null, signal: 'SIGSEGV' }, '')).not.toBe(exitedCause({ code: 3, signal: null }, ''));
    expect(hintOfCause(one)).toMatch(/ended during this case/);
    expect(hintOfCause(MEMBER_CLOSED)).toMatch(/socket open/);
  });
});
