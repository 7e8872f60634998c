/**
 * `npm run demo`: the same short chat session against the seeds' Python servers and against
 * chatkit's reference server, on loopback, with every connection's bytes decoded by the codecs.
 * It shows the wire as the spec names it, and one defect of each seed server that the reference
 * server does not have (a member who closes cleanly is never announced: D-NS-1, D-TS-4).
 */
import { join } from 'node:path';
import { type Connection, openConnection } from '../conformance/harness/connection.js';
import { PYTHON_TARGETS_DIR, spawnPythonServer, type TargetHandle } from '../conformance/harness/spawn.js';
import { type AnyMessage, createDecoder, type DialectName, escapeBytes, startServer } from '../src/index.js';

/** How long a departure may take to be announced before the demo calls it missing. */
const LEAVE_WAIT_MS = 1_000;
const STEP_TIMEOUT_MS = 5_000;

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = (t: string) => paint(1, t);
const dim = (t: string) => paint(2, t);
const good = (t: string) => paint(32, t);
const bad = (t: string) => paint(31, t);

interface Target {
  readonly name: string;
  readonly dialect: DialectName;
  start(): Promise<{ port: number; stop(): Promise<void> }>;
}

const python = (script: string, dialect: DialectName): Target => ({
  name: `conformance/targets/python/${script}`,
  dialect,
  async start() {
    const handle: TargetHandle = await spawnPythonServer(join(PYTHON_TARGETS_DIR, script));
    return { port: handle.port!, stop: () => handle.stop() };
  },
});

const reference = (dialect: DialectName): Target => ({
  name: `chatkit serve --dialect ${dialect}`,
  dialect,
  async start() {
    const server = await startServer({ dialect, port: 0 });
    return { port: server.port, stop: () => server.close() };
  },
});

/** Renders a decoded message the way the spec names it. */
function describe(message: AnyMessage): string {
  const { type, ...fields } = message;
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${type}${parts.length ? ` ${parts.join(' ')}` : ''}`;
}

function decodeStream(conn: Connection, dialect: DialectName): string[] {
  const decoder = createDecoder({ dialect, direction: 'toClient' });
  const lines: string[] = [];
  for (const event of conn.events()) {
    if (event.dir !== 'in' || event.bytes === undefined) continue;
    for (const e of decoder.push(event.bytes)) {
      lines.push(
        e.kind === 'message'
          ? `  ${dim(`"${escapeBytes(e.bytes)}"`.padEnd(44))} ${describe(e.message)}`
          : `  ${dim(`"${escapeBytes(e.error.bytes)}"`.padEnd(44))} ${bad(`issue ${e.error.code}`)}`,
      );
    }
  }
  return lines;
}

async function joinAs(conn: Connection, dialect: DialectName, nick: string): Promise<void> {
  if (dialect === 'nick') {
    await conn.waitForText('NICK', { timeoutMs: STEP_TIMEOUT_MS });
    conn.send(nick);
    await conn.waitForText('Connected to server!', { timeoutMs: STEP_TIMEOUT_MS });
  } else {
    conn.send(nick);
    await conn.waitForText(`SERVER~${nick} added to the chat`, { timeoutMs: STEP_TIMEOUT_MS });
  }
}

async function session(target: Target): Promise<boolean> {
  const running = await target.start();
  const conns: Connection[] = [];
  try {
    const open = async (label: string) => {
      const conn = await openConnection({ host: '127.0.0.1', port: running.port, label });
      conns.push(conn);
      return conn;
    };
    const alice = await open('alice');
    await joinAs(alice, target.dialect, 'alice');
    const bob = await open('bob');
    await joinAs(bob, target.dialect, 'bob');
    const line = target.dialect === 'nick' ? 'alice: hello bob' : 'hello bob ~ ça va?';
    const echo = target.dialect === 'nick' ? line : `alice~${line}`;
    alice.send(line);
    await bob.waitForText(echo, { timeoutMs: STEP_TIMEOUT_MS });
    bob.end();
    const leave = target.dialect === 'nick' ? 'bob left!' : 'SERVER~bob left the chat';
    const announced = await alice
      .waitForText(leave, { timeoutMs: LEAVE_WAIT_MS })
      .then(() => true)
      .catch(() => false);
    console.log(bold(`\n${target.name}`));
    console.log(dim('  alice received (escaped bytes, then what the codec decodes them to):'));
    for (const l of decodeStream(alice, target.dialect)) console.log(l);
    const rule = target.dialect === 'nick' ? 'NICK-LEAVE-1' : 'TILDE-LEAVE-2';
    console.log(
      announced
        ? good(`  ✓ bob closed his connection and alice was told (${rule})`)
        : bad(`  ✗ bob closed his connection; within ${LEAVE_WAIT_MS} ms alice was told nothing (${rule})`),
    );
    return announced;
  } finally {
    for (const c of conns) c.close();
    await running.stop();
  }
}

async function main(): Promise<void> {
  console.log(bold("chatkit demo: one session, four servers, every byte decoded by the spec's codecs"));
  const targets = [
    python('nick_server.py', 'nick'),
    reference('nick'),
    python('tilde_server.py', 'tilde'),
    reference('tilde'),
  ];
  for (const target of targets) await session(target);
  console.log(
    `\nNext: ${bold('npm test')} runs the suite; spec/PROTOCOL.md Annex A lists every defect of the seeds' scripts.`,
  );
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
