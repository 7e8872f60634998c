/**
 * tilde dialect, `robustness` and `stress` profiles: connections that never finish their handshake
 * (spec/PROTOCOL.md §6.1, §6.2), a member that stops reading (§6.3), a join announcement delayed by
 * one (TILDE-JOIN-1, TILDE-JOIN-2: Annex A D-TS-9), and 50 members at once (§6.5).
 *
 * @module
 */
import { SERVER_HANDSHAKE_TIMEOUT_MS } from '../../src/limits.js';
import type { ServerCase } from '../harness/case.js';
import type { Member, ServerCaseContext } from '../harness/context.js';
import { blockedSendProbe, expectNoBusyLoop, flood, judgedFlood, sendUsername, show, utf8 } from './support.js';

const tilde = { kind: 'server', dialect: 'tilde', profile: 'robustness' } as const;

const REFUSED = 'SERVER~Refused: ';
/** Members of the concurrency case (ROBUST-CONC-1). */
const CONCURRENT_MEMBERS = 50;
/**
 * No flood byte delivered for this long while bytes are missing: the server is blocked on the
 * member that stopped reading. Only used where mistaking a pause for a stall cannot fail a correct
 * server (it only ends the flood early); the MUST case waits a whole step instead.
 */
const STALL_HINT_MS = 2_000;
/**
 * With a spawned target: newcomers tried until one's announcement is seen held up at the slow
 * member (a blocked server may still take a small write toward it now and then).
 */
const JOIN_ATTEMPTS = 10;

/** Two paced messages from `sender`, each received by every member of `hearers`. */
async function expectPacedChat(
  t: ServerCaseContext,
  sender: Member,
  hearers: readonly Member[],
  requirement: string,
  why: string,
): Promise<void> {
  const marks = new Map(hearers.map((m) => [m, m.conn.stream().length]));
  for (const n of [1, 2]) {
    const relay = t.say(sender, t.token(`after${n}`));
    for (const m of hearers) {
      marks.set(
        m,
        await t.expectReceives(m.conn, [relay], {
          requirement,
          what: `after ${why}, ${m === sender ? 'the sender' : 'another member'} receives message ${n} of 2`,
          after: marks.get(m)!,
        }),
      );
    }
  }
}

/**
 * Joins `nick`, paced on `witness` receiving its announcement (its own may be held up by a slow
 * member). The result's `joinedAt` is 0: its stream is judged from the start.
 */
async function joinPacedOn(t: ServerCaseContext, witness: Member, nick: string): Promise<Member> {
  const mark = witness.conn.stream().length;
  const conn = await sendUsername(t, nick);
  await t.expectReceives(witness.conn, [t.joined(nick)], {
    requirement: 'TILDE-JOIN-1',
    what: `an existing member receives "${t.joined(nick)}"`,
    after: mark,
  });
  return { conn, nick, joinedAt: 0 };
}

/**
 * Whether `newcomer`'s own announcement got through (true) rather than being held up, as a probe
 * of blocked sends (above `baseline`) shows; bounded by a step (then taken as held up).
 */
async function heldUpOrThrough(
  t: ServerCaseContext,
  newcomer: Member,
  probe: () => number,
  baseline: number,
): Promise<boolean> {
  const own = t.joined(newcomer.nick);
  const deadline = performance.now() + t.timing.stepMs;
  while (performance.now() < deadline) {
    if (probe() > baseline) return false;
    if (Buffer.from(newcomer.conn.stream()).includes(own)) return true;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return false;
}

/** The connection received nothing, or only a refusal (TILDE-JOIN-2). */
function expectNothingOrRefusal(t: ServerCaseContext, conn: Member['conn'], why: string): void {
  const got = conn.stream();
  if (got.length === 0 || Buffer.from(got).indexOf(REFUSED) === 0) return;
  t.fail({
    requirement: 'TILDE-JOIN-2',
    message: `${conn.label}: ${why}, it received messages although it never became a member`,
    expected: ['nothing', `"${REFUSED}<reason>"`],
    actual: `"${t.tail(conn)}"`,
    connection: conn.label,
  });
}

export const TILDE_ROBUSTNESS_CASES: readonly ServerCase[] = [
  {
    ...tilde,
    id: 'tilde.handshake.eof-before-username',
    standsOn: ['tilde.handshake.nothing-before-username', 'tilde.join.broadcast'],
    catches: ['D-TS-2'],
    title:
      'closes a connection that sends EOF before its username, without a busy loop or an announcement, and goes on serving',
    requirements: ['ROBUST-EOF-1', 'TILDE-JOIN-2'],
    level: 'MUST',
    hint: "While waiting for the username: data = recv(2048); if not data: close the socket and return (b'' means the client left; never loop on it).",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const ghost = await t.connect('ghost');
      // FIN without a username; the ghost keeps reading, so it sees the server close its side.
      ghost.end();
      await Promise.all([
        expectNoBusyLoop(t, 'ROBUST-EOF-1', 'EOF before a username'),
        t.expectClosed(ghost, {
          requirement: 'ROBUST-EOF-1',
          what: 'after EOF before any username, the server closes the connection',
        }),
      ]);
      expectNothingOrRefusal(t, ghost, 'before it closed');
      await expectPacedChat(t, alice, [alice], 'ROBUST-EOF-1', 'a connection closed before its username');
      await t.expectStillServing('ROBUST-EOF-1', 'a connection sent EOF before its username');
    },
  },
  {
    ...tilde,
    id: 'tilde.handshake.reset-before-username',
    standsOn: ['tilde.join.broadcast'],
    title: 'drops a connection that is reset before its username, without a busy loop, and goes on serving',
    requirements: ['ROBUST-RESET-1'],
    level: 'MUST',
    hint: 'Wrap the recv() of the username in try/except OSError (ConnectionResetError): close the socket and return.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const ghost = await t.connect('ghost');
      ghost.reset();
      await expectNoBusyLoop(t, 'ROBUST-RESET-1', 'a reset before a username');
      await expectPacedChat(t, alice, [alice], 'ROBUST-RESET-1', 'a connection reset before its username');
      await t.expectStillServing('ROBUST-RESET-1', 'a connection was reset before its username');
    },
  },
  {
    ...tilde,
    id: 'tilde.handshake.unfinished-no-delay',
    standsOn: ['tilde.handshake.nothing-before-username'],
    title: 'lets members join and chat while another connection has not sent its username',
    requirements: ['ROBUST-HANDSHAKE-1'],
    level: 'MUST',
    hint: "Read the username in the new client's own thread (threading.Thread(target=client_handler, ...)), never in the accept loop.",
    async run(t) {
      const silent = await t.connect('silent');
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      await expectPacedChat(t, alice, [alice, bob], 'ROBUST-HANDSHAKE-1', 'a connection stayed silent');
      await expectPacedChat(t, bob, [alice, bob], 'ROBUST-HANDSHAKE-1', 'a connection stayed silent');
      expectNothingOrRefusal(t, silent, 'while it was silent');
      await t.expectStillServing('ROBUST-HANDSHAKE-1', 'a connection stayed silent');
    },
  },
  {
    ...tilde,
    profile: 'stress',
    id: 'tilde.handshake.timeout',
    title: 'closes a connection that sends no username within the handshake timeout (10 s), unannounced',
    requirements: ['ROBUST-HANDSHAKE-2', 'TILDE-JOIN-2'],
    level: 'SHOULD',
    hint: 'Before reading the username call client.settimeout(10); on socket.timeout close the connection (and client.settimeout(None) once the username is in).',
    timeoutMs: SERVER_HANDSHAKE_TIMEOUT_MS + 15_000,
    async run(t) {
      const silent = await t.connect('silent');
      await t.join(t.nick('alice'));
      await t.expectClosed(silent, {
        requirement: 'ROBUST-HANDSHAKE-2',
        what: `a connection that never sends a username is closed within ${SERVER_HANDSHAKE_TIMEOUT_MS} ms`,
        timeoutMs: SERVER_HANDSHAKE_TIMEOUT_MS + t.timing.stepMs,
      });
      expectNothingOrRefusal(t, silent, 'before the timeout');
    },
  },
  {
    ...tilde,
    id: 'tilde.slow.others-unaffected',
    standsOn: ['tilde.relay.echo', 'tilde.relay.all'],
    catches: ['D-TS-10'],
    title:
      'goes on delivering every message to the members that read while one member stops reading (a flood of megabytes toward it)',
    requirements: ['ROBUST-SLOW-1'],
    level: 'MUST',
    hint: "Do not call sendall() on every member from the sender's thread: give each member a queue and a writer thread (or use non-blocking sockets), bound the queue, and close a member whose queue is full.",
    timeoutMs: 60_000,
    async run(t) {
      // Join order W, zed, O: a server that writes to members in turn blocks at zed before O.
      const w = await t.join(t.nick('w'));
      const zed = await t.join(t.nick('zed'));
      const o = await t.join(t.nick('o'));
      zed.conn.pauseReading();
      const end = await flood(w, [w, o], { stopWhen: t.left(zed.nick), stallMs: t.timing.stepMs });
      judgedFlood(t, end, zed.nick);
      if (end.kind === 'closed') {
        // A server that closes everyone (it dies with the member it drops) shows it on o too, who
        // only joined and read: that is a cause of its own, which other cases meet as well.
        if (!o.conn.closed) await o.conn.waitForClose({ timeoutMs: t.timing.quietMs }).catch(() => undefined);
        t.expectStillMember(o, { requirement: 'ROBUST-SLOW-1', what: `${w.nick}'s flood reached it` });
        t.fail({
          requirement: 'ROBUST-SLOW-1',
          message: `while ${zed.nick} was not reading, the server closed ${end.label}, a member that kept reading`,
          expected: [
            `only ${zed.nick}, the member that stopped reading, may be closed (announced as "${t.left(zed.nick)}")`,
          ],
          actual: `${end.label} closed after ${end.bytes} bytes of flood`,
          connection: end.label,
        });
      }
      if (end.kind === 'stalled') {
        t.fail({
          requirement: 'ROBUST-SLOW-1',
          message: `while ${zed.nick} was not reading, ${w.nick}'s messages stopped reaching the members that read: nothing new arrived for ${t.timing.stepMs} ms`,
          expected: [
            `${end.bytes} bytes of flood reach ${w.nick} and ${o.nick}`,
            `(the server may close ${zed.nick} once its queue is full, announced as "${t.left(zed.nick)}")`,
          ],
          actual: `${w.nick} received ${end.delivered[0]} and ${o.nick} ${end.delivered[1]} of ${end.bytes} bytes`,
          connection: o.conn.label,
        });
      }
      await expectPacedChat(t, o, [w, o], 'ROBUST-SLOW-1', `${zed.nick} stopped reading`);
      await t.expectStillServing('ROBUST-SLOW-1', 'a member stopped reading');
    },
  },
  {
    ...tilde,
    id: 'tilde.join.no-late-announcement',
    standsOn: ['tilde.join.broadcast'],
    catches: ['D-TS-9'],
    title:
      'never sends a join announcement to a member who joined after it, even when its broadcast was held up by a member that stopped reading',
    requirements: ['TILDE-JOIN-1', 'TILDE-JOIN-2'],
    level: 'MUST',
    hint: 'Broadcast to a copy of the member list taken when the message is made (for c in list(clients): ...), under a lock shared with the code that appends newcomers; better, queue output per member.',
    timeoutMs: 60_000,
    async run(t) {
      const w = await t.join(t.nick('w'));
      const zed = await t.join(t.nick('zed'));
      zed.conn.pauseReading();
      const probe = blockedSendProbe(t);
      // Until the server is blocked at zed (a legacy server; with a spawned target, as soon as a
      // thread is seen asleep in a send), closes zed, or took a bounded flood.
      const flooded = async () => {
        const end = await flood(w, [w], { stopWhen: t.left(zed.nick), stallMs: STALL_HINT_MS, probe });
        judgedFlood(t, end, zed.nick);
        return end;
      };
      let blocking = (await flooded()).kind === 'stalled';
      let aliceNick = '';
      let alice: Member | undefined;
      for (let attempt = 1; ; attempt++) {
        const baseline = probe?.() ?? 0;
        aliceNick = t.nick('alice');
        // Paced on an existing member: alice's own announcement may be held up at zed, W's is not.
        alice = await joinPacedOn(t, w, aliceNick);
        if (!blocking || !probe || attempt === JOIN_ATTEMPTS) break;
        // A spawned target shows whether alice's announcement is held up (one more thread blocked
        // in a send: bob joins now, while it is) or got through: then the blocked thread was not
        // blocked at zed (a slow W), or the kernel let a little more through toward zed. Flood on.
        if (!(await heldUpOrThrough(t, alice, probe, baseline))) break;
        blocking = (await flooded()).kind === 'stalled';
      }
      const wMark = w.conn.stream().length;
      const bobNick = t.nick('bob');
      const bob = await sendUsername(t, bobNick);
      await t.expectReceives(w.conn, [t.joined(bobNick)], {
        requirement: 'TILDE-JOIN-1',
        what: `an existing member receives "${t.joined(bobNick)}"`,
        after: wMark,
      });
      zed.conn.resumeReading();
      // alice is listed before bob: a server that finishes her announcement late reaches her first.
      for (const [conn, nick] of [
        [alice.conn, aliceNick],
        [bob, bobNick],
      ] as const) {
        await t.expectReceives(conn, [t.joined(nick)], {
          requirement: 'TILDE-JOIN-1',
          what: `the newcomer receives its own "${t.joined(nick)}"`,
          timeoutMs: 2 * t.timing.stepMs,
        });
      }
      await bob.quiet(2 * t.timing.quietMs);
      t.expectAbsent(bob, [t.joined(aliceNick)], {
        requirement: 'TILDE-JOIN-1',
        what: `bob received "${t.joined(aliceNick)}", although alice was announced (W had it) before bob sent his username`,
      });
      await t.expectStillServing('TILDE-JOIN-1', 'a member stopped reading during two joins');
    },
  },
  {
    ...tilde,
    id: 'tilde.conc.fifty',
    standsOn: ['tilde.join.broadcast'],
    title: `serves ${CONCURRENT_MEMBERS} members at once and delivers every message to all of them`,
    requirements: ['ROBUST-CONC-1', 'TILDE-RELAY-1'],
    level: 'MUST',
    hint: 'One thread (or one event-loop handler) per client, listen() with a backlog of at least 50, and no fixed limit below 50 clients.',
    timeoutMs: 45_000,
    async run(t) {
      const members: Member[] = [];
      for (let i = 0; i < CONCURRENT_MEMBERS; i++) members.push(await t.join(t.nick(`m${i}`), `m${i}`));
      for (const sender of [members[0]!, members[CONCURRENT_MEMBERS - 1]!]) {
        const relay = t.say(sender, t.token('to-all'));
        await Promise.all(
          members.map((m, i) =>
            t.expectReceives(m.conn, [relay], {
              requirement: 'ROBUST-CONC-1',
              what: `member ${i + 1} of ${CONCURRENT_MEMBERS} receives "${show(utf8(relay))}"`,
              after: m.joinedAt,
            }),
          ),
        );
      }
    },
  },
];
