/**
 * NICK dialect, chat and relay (spec/PROTOCOL.md §4.4) and the server's side of framing (§3): every
 * chunk a member sends goes to every member unchanged, the sender included; relay is
 * stream-transparent, so split, merged and oversize writes are judged on the reassembled stream;
 * bytes >= 0x80 are never relayed.
 *
 * @module
 */
import type { ServerCase } from '../harness/case.js';
import type { Member, ServerCaseContext } from '../harness/context.js';
import { standingOn } from '../harness/preconditions.js';
import { expectWholeReads, type WholeReadCheck } from '../harness/whole-reads.js';
import {
  chunkProfileOnly,
  bytes,
  concat,
  expectAscii,
  find,
  NICK_SERVER,
  show,
} from './support.js';

const core = { ...NICK_SERVER, profile: 'core' } as const;
const robustness = { ...NICK_SERVER, profile: 'robustness' } as const;
/** How many bytes of a message nick.relay.split-merge writes one at a time. */
const SINGLE_BYTES = 4;

/** Waits until every member has `relay` after its offset in `marks`; advances the marks past it. */
async function everyoneReceives(
  t: ServerCaseContext,
  members: readonly Member[],
  relay: string | Uint8Array,
  marks: Map<Member, number>,
  requirement: string,
  sender?: Member,
): Promise<void> {
  for (const m of members) {
    marks.set(
      m,
      await t.expectReceives(m.conn, [relay], {
        requirement,
        what: `${m === sender ? 'the sender' : 'a member'} receives "${show(relay)}" unchanged`,
        after: marks.get(m) ?? m.joinedAt,
      }),
    );
  }
}

/**
 * On a target of the case's own (`--spawn`), nothing but the relay arrives between `from` and the
 * relay at `relayAt`: a server that prefixes relays (`[12:05] alice: hi`) breaks "unchanged"
 * (NICK-RELAY-1). A late join notice (it names one of `names`, in any wording) is no insertion. On
 * a shared `--target` other people's traffic may come in between (§3.7 item 8), so nothing is judged.
 */
function expectNothingInserted(
  t: ServerCaseContext,
  m: Member,
  from: number,
  relayAt: number,
  names: readonly string[],
): void {
  if (t.targetPid === undefined || relayAt <= from) return;
  const between = m.conn.stream().subarray(from, relayAt);
  if (names.some((n) => find(between, n) !== -1)) return;
  // The tail of a welcome that was still arriving is no insertion either.
  if (t.welcome.endsWith(Buffer.from(between).toString('latin1'))) return;
  t.fail({
    requirement: 'NICK-RELAY-1',
    message: `${m.conn.label}: the server inserted bytes right before the relayed chunk: it changed the message instead of relaying it unchanged`,
    expected: ['the chunk exactly as the sender wrote it, with nothing added before it'],
    actual: t.tail(m.conn, from),
    connection: m.conn.label,
  });
}

export const NICK_RELAY_CASES: readonly ServerCase[] = [
  {
    ...core,
    id: 'nick.relay.all',
    title: "relays a member's chunk unchanged to every other member",
    requirements: ['NICK-RELAY-1'],
    level: 'MUST',
    hint: "In the client's thread: data = recv(1024); then send exactly those bytes to every client in the list Relay each chunk as soon as recv() returns it: the protocol has no newline or other end marker to wait for.",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      // Let the last bytes of the joins land (a welcome written in pieces) before the marks.
      await Promise.all([bob, carol].map((m) => m.conn.quiet(t.timing.quietMs)));
      const marks = new Map([bob, carol].map((m) => [m, m.conn.stream().length]));
      // Observed by the other members only: the sender's own copy is judged by nick.relay.echo.
      const relay = t.say(alice, t.token('hello'));
      for (const m of [bob, carol]) {
        const end = await t.expectReceives(m.conn, [relay], {
          requirement: 'NICK-RELAY-1',
          what: `another member receives "${relay}" unchanged`,
          after: m.joinedAt,
        });
        expectNothingInserted(t, m, marks.get(m)!, end - bytes(relay).length, [carol.nick]);
      }
    },
  },
  {
    ...core,
    id: 'nick.relay.echo',
    title: "relays a member's chunk back to the sender too, unchanged",
    requirements: ['NICK-RELAY-1'],
    level: 'MUST',
    hint: 'Broadcast to every client in the list, the sender included: do not skip the client the message came from (the tutorial client shows its own messages only through this echo).',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const relay = t.say(alice, t.token('echo'));
      // Wait for the other member first: then a missing echo is the echo, not a slow relay. That
      // relay is what nick.relay.all judges: a server that relays nothing fails there, once.
      await standingOn('nick.relay.all', () =>
        t.expectReceives(bob.conn, [relay], {
          requirement: 'NICK-RELAY-1',
          what: `another member receives "${relay}"`,
          after: bob.joinedAt,
        }),
      );
      await t.expectReceives(alice.conn, [relay], {
        requirement: 'NICK-RELAY-1',
        what: `the sender receives its own "${relay}" unchanged`,
        after: alice.joinedAt,
      });
    },
  },
  {
    ...core,
    id: 'nick.relay.text-forms',
    title: 'relays chat holding `:`, `: `, `~`, TAB, spaces or empty text, and raw chunks, byte for byte',
    requirements: ['NICK-RELAY-1', 'NICK-CHAT-1'],
    level: 'MUST',
    hint: 'Relay the received bytes as they are: do not parse, split at ":", strip, decode/re-encode or drop "empty" messages.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const members = [alice, bob];
      const marks = new Map<Member, number>();
      const token = t.token('t');
      const texts = [
        `${token} a:b`,
        `${token} x: y: z`,
        `${token} ~tilde~ and ~`,
        `${token}\tafter a TAB`,
        `  ${token} spaced  `,
        '',
      ];
      for (const text of texts) {
        const relay = t.say(alice, text);
        await everyoneReceives(t, members, relay, marks, 'NICK-RELAY-1', alice);
      }
      // Raw chunks (no `<nick>: ` prefix) are relayed too: what a `nc` user types (§4.2 raw).
      const raws =
        t.framing === 'line'
          ? [`${t.token('raw')} no prefix\n`]
          : [`${t.token('raw')} hi\n`, `bob: ${token}`];
      for (const raw of raws) {
        bob.conn.send(raw);
        await everyoneReceives(t, members, raw, marks, 'NICK-RELAY-1', bob);
      }
    },
  },
  {
    ...core,
    id: 'nick.relay.order',
    title: "keeps each sender's messages in the order sent, on every member's stream",
    requirements: ['NICK-RELAY-1'],
    level: 'MUST',
    hint: "Relay each member's chunks from one loop (one thread per client) in the order recv() returns them; do not hand them to a pool of threads.",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const relays: string[] = [];
      let mine = alice.joinedAt;
      // Paced by the sender's own echo only: the other member may get them merged, never reordered.
      for (let i = 0; i < 5; i++) {
        const relay = t.say(alice, t.token(`n${i}`));
        relays.push(relay);
        mine = await t.expectReceives(alice.conn, [relay], {
          requirement: 'NICK-RELAY-1',
          what: `the sender receives message ${i + 1} after message ${i}`,
          after: mine,
        });
      }
      let at = bob.joinedAt;
      for (const [i, relay] of relays.entries()) {
        at = await t.expectReceives(bob.conn, [relay], {
          requirement: 'NICK-RELAY-1',
          what: `a member receives message ${i + 1} of 5 after message ${i}`,
          after: at,
        });
      }
    },
  },
  {
    ...core,
    id: 'nick.frame.one-write',
    title: 'writes each message with one send() call: no prompt, announcement or relay arrives split',
    requirements: ['FRAME-2', 'FRAME-3'],
    level: 'SHOULD',
    hint: 'Build the whole message first and send it with one client.send(message) call; set TCP_NODELAY on accepted sockets so each message leaves at once.',
    async run(t) {
      await expectWholeReads(t, async () => {
        const alice = await t.join(t.nick('alice'));
        const bob = await t.join(t.nick('bob'));
        const checks: WholeReadCheck[] = [];
        const check = (m: Member, message: string, what: string) =>
          checks.push({ conn: m.conn, message, requirement: 'FRAME-2', what });
        for (const m of [alice, bob]) {
          checks.push({ conn: m.conn, message: t.wire(t.prompt), requirement: 'FRAME-2', what: 'the prompt', onlyFirst: true });
        }
        check(alice, t.joined(bob.nick), 'a join announcement');
        check(bob, t.wire(t.welcome), `"${t.welcome}"`);
        const marks = new Map<Member, number>();
        for (let i = 0; i < 3; i++) {
          // Paced on every member: each relay is the only bytes in flight, so nothing merges with it.
          const relay = t.say(i % 2 === 0 ? alice : bob, t.token(`w${i}`));
          await everyoneReceives(t, [alice, bob], relay, marks, 'NICK-RELAY-1');
          for (const m of [alice, bob]) check(m, relay, 'a relay');
        }
        bob.conn.reset();
        await t.expectReceives(alice.conn, [t.left(bob.nick)], {
          requirement: 'NICK-LEAVE-1',
          what: `the remaining member receives "${t.left(bob.nick)}"`,
          after: alice.joinedAt,
        });
        check(alice, t.left(bob.nick), 'a leave announcement');
        return checks;
      });
    },
  },
  {
    ...robustness,
    id: 'nick.relay.split-merge',
    title:
      'relays a message written in pieces, byte by byte, or merged with the next, without losing or reordering a byte',
    requirements: ['FRAME-4', 'NICK-RELAY-1'],
    level: 'MUST',
    hint: 'Relay whatever each recv() returns, as it is: do not wait for a "complete" message, and do not assume one recv() is one message.',
    async run(t) {
      chunkProfileOnly(t, 'the line profile judges pieces and merges by LF (LINE-3)');
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const members = [alice, bob];
      const marks = new Map<Member, number>();
      // Two pieces; the second is written only after the first came back, so the server surely
      // read them as two chunks (§3.6: the stream is unchanged).
      const first = t.line(alice.nick, `${t.token('split')} he`);
      alice.conn.send(first);
      await t.expectReceives(alice.conn, [first], {
        requirement: 'FRAME-4',
        what: 'the sender receives the first piece of its message',
        after: alice.joinedAt,
      });
      alice.conn.send('llo');
      await everyoneReceives(t, members, `${first}llo`, marks, 'FRAME-4');
      // The last bytes one at a time, each paced by its echo.
      const slow = t.line(alice.nick, `${t.token('bytes')} abcd`);
      const head = slow.slice(0, -SINGLE_BYTES);
      alice.conn.send(head);
      let echo = await t.expectReceives(alice.conn, [head], {
        requirement: 'FRAME-4',
        what: 'the sender receives the start of its message',
        after: alice.joinedAt,
      });
      for (const ch of slow.slice(-SINGLE_BYTES)) {
        alice.conn.send(ch);
        echo = await t.expectReceives(alice.conn, [ch], {
          requirement: 'FRAME-4',
          what: `the sender receives the byte "${show(ch)}" it wrote alone`,
          after: echo,
        });
      }
      await everyoneReceives(t, members, slow, marks, 'FRAME-4');
      // Two messages in one write, then ten written back to back (not paced).
      const merged = `${t.line(alice.nick, t.token('one'))}${t.line(alice.nick, t.token('two'))}`;
      alice.conn.send(merged);
      await everyoneReceives(t, members, merged, marks, 'FRAME-4');
      const burst = Array.from({ length: 10 }, (_, i) => t.line(alice.nick, t.token(`b${i}`)));
      for (const message of burst) alice.conn.send(message);
      await everyoneReceives(t, members, burst.join(''), marks, 'FRAME-4');
    },
  },
  {
    ...robustness,
    id: 'nick.relay.oversize',
    title: 'relays a chunk of more than 1024 bytes in pieces, losing and reordering nothing',
    requirements: ['NICK-RELAY-4', 'TRANSPORT-3', 'ROBUST-SIZE-1'],
    level: 'MUST',
    hint: 'Read with recv(1024) and relay every piece as it comes; if you read more at once, send it on in slices of at most 1024 bytes, never drop the rest.',
    async run(t) {
      chunkProfileOnly(t, 'under the line profile an over-long line is discarded instead (LINE-2)');
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const token = t.token('big');
      let text = '';
      for (let i = 0; text.length < 2500; i++) text += `${token}.${i.toString().padStart(4, '0')} `;
      const relay = t.say(alice, text);
      for (const m of [alice, bob]) {
        await t.expectReceives(m.conn, [relay], {
          requirement: 'NICK-RELAY-4',
          what: `${m === alice ? 'the sender' : 'a member'} receives all ${relay.length} bytes of the chunk, in order`,
          after: m.joinedAt,
        });
      }
    },
  },
  {
    ...robustness,
    id: 'nick.relay.non-ascii',
    standsOn: ['nick.leave.reset'],
    catches: ['D-NS-6'],
    title: 'never relays a chunk holding a byte >= 0x80; closes the sender (announced) or drops the chunk',
    requirements: ['NICK-RELAY-2', 'ENC-NICK-1', 'NICK-LEAVE-1'],
    level: 'MUST',
    hint: 'Before broadcasting, check every byte < 0x80 (or try data.decode("ascii")); if not, do not relay: close that client and announce "<nick> left!" (or drop the chunk).',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const marks = { alice: alice.conn.stream().length, bob: bob.conn.stream().length };
      alice.conn.send(concat(`${alice.nick}: caf`, new Uint8Array([0xc3, 0xa9]), t.wire('')));
      // Sentinels after a quiet window, so that none shares the bad chunk (§3.7 item 5). A server
      // that drops the chunk relays a sentinel; one that closes alice announces her leave. If the
      // server still merged the two, the next sentinel settles it.
      const leftAlice = t.left(alice.nick);
      const sentinels: string[] = [];
      const settled = (s: Uint8Array) =>
        find(s, leftAlice, marks.bob) !== -1 || sentinels.some((r) => find(s, r, marks.bob) !== -1);
      for (let round = 0; round < 3 && !settled(bob.conn.stream()); round++) {
        await alice.conn.quiet(t.timing.quietMs);
        if (alice.conn.closed) {
          await t.expectReceives(bob.conn, [leftAlice], {
            requirement: 'NICK-LEAVE-1',
            what: `after closing the sender of bytes >= 0x80, the server announces "${leftAlice}"`,
            after: marks.bob,
          });
          break;
        }
        const relay = t.say(alice, t.token('sentinel'));
        sentinels.push(relay);
        await bob.conn.waitFor(settled, { timeoutMs: t.timing.stepMs }).catch(() => undefined);
      }
      if (!settled(bob.conn.stream())) {
        t.fail({
          requirement: 'NICK-RELAY-2',
          message:
            "bob: after a chunk with bytes >= 0x80, neither alice's next message nor her leave arrived",
          expected: [
            `"${leftAlice}" (alice closed)`,
            `"${sentinels[0] ?? '<sentinel>'}" (the chunk dropped, alice kept)`,
          ],
          actual: t.tail(bob.conn, marks.bob),
          connection: bob.conn.label,
        });
      }
      expectAscii(t, bob.conn, 'NICK-RELAY-2', 'a member after a chunk with bytes >= 0x80', marks.bob);
      expectAscii(t, alice.conn, 'NICK-RELAY-2', 'the sender of a chunk with bytes >= 0x80', marks.alice);
      await t.expectStillServing('NICK-RELAY-2', 'a chunk with bytes >= 0x80');
    },
  },
];
