import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import { type ClusterNode, STEP_MS, startNode, startRedis } from '../support/redis.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function redis() {
  const r = await startRedis();
  cleanup.push(() => r.stop());
  return r;
}

async function nodes(url: string, count: number, args: string[] = []): Promise<ClusterNode[]> {
  const started = await Promise.all(Array.from({ length: count }, () => startNode(url, args)));
  for (const n of started) cleanup.push(() => n.target.stop());
  return started;
}

async function connect(port: number, label: string): Promise<Connection> {
  const conn = await openConnection({ host: '127.0.0.1', port, label });
  cleanup.push(() => conn.close());
  return conn;
}

/** A NICK member: answers the prompt and waits for its welcome. */
async function nickMember(port: number, nick: string): Promise<Connection> {
  const conn = await connect(port, nick);
  await conn.waitForText('NICK', { timeoutMs: STEP_MS });
  conn.send(nick);
  await conn.waitForText('Connected to server!', { timeoutMs: STEP_MS });
  return conn;
}

const text = (conn: Connection) => Buffer.from(conn.stream()).toString('utf8');
const wait = (conn: Connection, t: string, after = 0) => conn.waitForText(t, { timeoutMs: STEP_MS, after });

describe('chatkit serve --cluster (NICK dialect)', () => {
  it('relays across nodes to every member, sender included, with join and leave notices', async () => {
    const { url } = await redis();
    const [a, b] = await nodes(url, 2);
    const alice = await nickMember(a!.port, 'alice');
    const bob = await nickMember(b!.port, 'bob');
    await wait(alice, 'bob joined!');
    // As in one server: the newcomer's own join notice comes before its welcome.
    expect(text(bob)).toBe('NICKbob joined!Connected to server!');
    alice.send('alice: hello bob');
    await wait(bob, 'alice: hello bob');
    await wait(alice, 'alice: hello bob');
    bob.send('bob: hi alice');
    await wait(alice, 'bob: hi alice');
    await wait(bob, 'bob: hi alice');
    bob.close();
    await wait(alice, 'bob left!');
  });

  it('keeps each sender\'s order on every node while two senders on two nodes interleave', async () => {
    const { url } = await redis();
    const [a, b, c] = await nodes(url, 3);
    const alice = await nickMember(a!.port, 'alice');
    const carol = await nickMember(b!.port, 'carol');
    const bob = await nickMember(c!.port, 'bob');
    await wait(alice, 'bob joined!');
    await wait(carol, 'bob joined!');
    const N = 40;
    for (let i = 0; i < N; i++) {
      alice.send(`alice: a${i};`);
      carol.send(`carol: c${i};`);
    }
    for (const member of [alice, bob, carol]) {
      await wait(member, `alice: a${N - 1};`);
      await wait(member, `carol: c${N - 1};`);
      const seen = (who: string) => [...text(member).matchAll(new RegExp(`${who}: ${who[0]}(\\d+);`, 'g'))].map((m) => Number(m[1]));
      const expected = Array.from({ length: N }, (_, i) => i);
      expect(seen('alice')).toEqual(expected);
      expect(seen('carol')).toEqual(expected);
    }
  });

  it('keeps nicknames unique across nodes: of two members racing for one, exactly one wins', async () => {
    const { url } = await redis();
    const [a, b] = await nodes(url, 2);
    for (let round = 0; round < 5; round++) {
      const nick = `racer${round}`;
      const one = await connect(a!.port, `${nick}@a`);
      const two = await connect(b!.port, `${nick}@b`);
      await Promise.all([wait(one, 'NICK'), wait(two, 'NICK')]);
      one.send(nick);
      two.send(nick);
      const outcome = (conn: Connection) =>
        Promise.race([
          wait(conn, 'Connected to server!').then(() => 'won'),
          wait(conn, 'NICKNAME_IN_USE').then(() => 'refused'),
        ]);
      const results = await Promise.all([outcome(one), outcome(two)]);
      expect(results.sort()).toEqual(['refused', 'won']);
    }
    // A nickname comes free again once its member leaves.
    const dave = await nickMember(a!.port, 'dave');
    dave.close();
    const watcher = await nickMember(b!.port, 'watcher');
    await wait(watcher, 'watcher joined!');
    let again: Connection | undefined;
    for (let attempt = 0; attempt < 50 && again === undefined; attempt++) {
      const conn = await connect(b!.port, 'dave-again');
      await wait(conn, 'NICK');
      conn.send('dave');
      const got = await Promise.race([
        wait(conn, 'Connected to server!').then(() => true),
        wait(conn, 'NICKNAME_IN_USE').then(() => false),
      ]);
      if (got) again = conn;
      else conn.close(); // the leave may not have reached Redis yet; bounded retries
    }
    expect(again).toBeDefined();
  });

  it('announces the members of a node killed with SIGKILL as left, and the others keep chatting', async () => {
    const { url } = await redis();
    const [a, b, c] = await nodes(url, 3, ['--node-lease-ms', '600']);
    const alice = await nickMember(a!.port, 'alice');
    const bob = await nickMember(b!.port, 'bob');
    const carol = await nickMember(c!.port, 'carol');
    await wait(alice, 'carol joined!');
    await wait(bob, 'carol joined!');
    process.kill(-a!.target.pid, 'SIGKILL');
    await wait(bob, 'alice left!');
    await wait(carol, 'alice left!');
    // Exactly one survivor reaped the dead node, so the leave is announced once.
    expect(text(bob).split('alice left!').length - 1).toBe(1);
    const logs = b!.target.stdout() + c!.target.stdout();
    expect(logs).toMatch(/code=CLUSTER_NODE_DEAD .*members_left=1/);
    bob.send('bob: still here?');
    await wait(carol, 'bob: still here?');
    // Its nickname claim ended with its lease.
    const alice2 = await nickMember(c!.port, 'alice');
    await wait(bob, 'alice joined!', text(bob).indexOf('alice left!'));
    expect(alice2.closed).toBe(false);
  });

  it('recovers after Redis restarts mid-chat and logs, with a code, what was lost', async () => {
    const r = await redis();
    const [a, b] = await nodes(r.url, 2);
    const alice = await nickMember(a!.port, 'alice');
    const bob = await nickMember(b!.port, 'bob');
    await wait(alice, 'bob joined!');
    await r.stop();
    await a!.target.waitForOutput('stdout', 'code=CLUSTER_REDIS_LOST', { timeoutMs: STEP_MS });
    // While Redis is away a node's own members still hear each other; the others cannot.
    alice.send('alice: anyone?');
    await wait(alice, 'alice: anyone?');
    const r2 = await startRedis(Number(new URL(r.url).port));
    cleanup.push(() => r2.stop());
    await a!.target.waitForOutput('stdout', (out) => /code=CLUSTER_REDIS_RESTORED .*unshared=1 /.test(out), {
      timeoutMs: STEP_MS,
    });
    await b!.target.waitForOutput('stdout', 'code=CLUSTER_REDIS_RESTORED', { timeoutMs: STEP_MS });
    expect(text(bob)).not.toContain('alice: anyone?');
    alice.send('alice: back again');
    await wait(bob, 'alice: back again');
    bob.send('bob: welcome back');
    await wait(alice, 'bob: welcome back');
    // The restarted Redis was empty: the nodes claimed their members' nicknames again.
    const impostor = await connect(b!.port, 'impostor');
    await wait(impostor, 'NICK');
    impostor.send('alice');
    await wait(impostor, 'NICKNAME_IN_USE');
  });
});

describe('chatkit serve --cluster under a slow or meddling Redis', () => {
  it('rides out a Redis that answers later than the command timeout: nothing lost, nothing doubled, no split', async () => {
    const r = await redis();
    const [a, b] = await nodes(r.url, 2);
    const alice = await nickMember(a!.port, 'alice');
    const bob = await nickMember(b!.port, 'bob');
    await wait(alice, 'bob joined!');
    // A stopped redis-server keeps its sockets open and answers nothing: what a node sees when
    // Redis, or the node itself, is starved of CPU for longer than the command timeout.
    process.kill(-r.pid, 'SIGSTOP');
    cleanup.push(() => process.kill(-r.pid, 'SIGCONT'));
    alice.send('alice: during;');
    await a!.target.waitForOutput('stdout', 'code=CLUSTER_REDIS_SLOW', { timeoutMs: STEP_MS });
    process.kill(-r.pid, 'SIGCONT');
    await a!.target.waitForOutput('stdout', (out) => /code=CLUSTER_REDIS_SLOW .*late=\d+ lost=0/.test(out), {
      timeoutMs: STEP_MS,
    });
    await wait(bob, 'alice: during;');
    await wait(alice, 'alice: during;');
    alice.send('alice: after;');
    await wait(bob, 'alice: after;');
    bob.send('bob: and back;');
    await wait(alice, 'bob: and back;');
    // Once through Redis, never a second time from a local fallback.
    expect(text(alice).split('alice: during;').length - 1).toBe(1);
    expect(a!.target.stdout()).not.toContain('CLUSTER_REDIS_LOST');
  });

  it('logs a coded line when Redis drops only its subscription, resubscribes and chats on', async () => {
    const r = await redis();
    const [a, b] = await nodes(r.url, 2);
    const alice = await nickMember(a!.port, 'alice');
    const bob = await nickMember(b!.port, 'bob');
    await wait(alice, 'bob joined!');
    // What Redis does to a subscriber past its client-output-buffer-limit for pub/sub.
    const admin = new Redis(Number(new URL(r.url).port), '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    cleanup.push(() => admin.disconnect());
    await admin.connect();
    expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBe(2);
    await a!.target.waitForOutput('stdout', 'code=CLUSTER_SUBSCRIBER_DROPPED', { timeoutMs: STEP_MS });
    await a!.target.waitForOutput('stdout', 'code=CLUSTER_REDIS_RESTORED', { timeoutMs: STEP_MS });
    await b!.target.waitForOutput('stdout', 'code=CLUSTER_REDIS_RESTORED', { timeoutMs: STEP_MS });
    alice.send('alice: still one room?');
    await wait(bob, 'alice: still one room?');
    bob.send('bob: yes');
    await wait(alice, 'bob: yes');
  });
});

describe('chatkit serve --cluster (tilde dialect)', () => {
  it('relays across nodes with join notices and unique usernames', async () => {
    const { url } = await redis();
    const [a, b] = await nodes(url, 2, ['--dialect', 'tilde']);
    const zoe = await connect(a!.port, 'zoë');
    zoe.send('zoë');
    await wait(zoe, 'SERVER~zoë added to the chat');
    const yann = await connect(b!.port, 'yann');
    yann.send('yann');
    await wait(zoe, 'SERVER~yann added to the chat');
    await wait(yann, 'SERVER~yann added to the chat');
    zoe.send('bonjour');
    await wait(yann, 'zoë~bonjour');
    await wait(zoe, 'zoë~bonjour');
    const twin = await connect(b!.port, 'twin');
    twin.send('zoë');
    expect(await twin.waitForClose({ timeoutMs: STEP_MS })).not.toBe('local');
    expect(text(yann)).not.toContain('SERVER~zoë added to the chat');
  });
});
