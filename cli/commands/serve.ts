import { Flags } from '@oclif/core';
import { ChatkitError } from '../../src/errors.js';
import { ClusterAddressError } from '../../src/reference-server/cluster/address.js';
import { openClusterLink } from '../../src/reference-server/cluster/load.js';
import { enabledProfiles } from '../../src/reference-server/extensions.js';
import { logSink } from '../../src/reference-server/log-sink.js';
import { type ResolvedServerOptions, ServerOptionError } from '../../src/reference-server/options.js';
import { ServerListenError, startServer } from '../../src/reference-server/server.js';
import { SERVER_MAX_RATE_MESSAGES } from '../../src/limits.js';
import { ChatkitCommand } from '../base.js';
import { dialectFlag, EXIT_USAGE, framingFlag, intFlag, promptFlag } from '../flags.js';

/** `chatkit serve`: run the reference server. */
export default class Serve extends ChatkitCommand {
  static override summary = 'Run the reference chat server (NICK or tilde dialect).';

  static override description =
    `Speaks the dialect exactly as spec/PROTOCOL.md says, so the seeds' Python clients, nc and
chatkit connect all work with it, while fixing every defect of the seeds' servers (Annex A).
Logs one line per connect, join, leave, rejection and error; lines of one kind past 20 a second are
counted, not written. SIGINT, SIGTERM and SIGHUP all stop the server: members are told, queued output
is flushed, exit 0 (SIGHUP does not reopen the log: the log goes to stdout, which the caller owns).
The log never stops the server: when stdout's reader goes away (EPIPE) it says so on stderr and
logs there from then on; when both are gone, or a reader stops reading (more than 1 MiB waiting),
lines are dropped and counted (LOG_OUTPUT_LOST), and the count is logged where it still can be.
Connections still in their handshake never take a member's slot: --max-pending and
--max-pending-per-address bound them; past them the oldest handshake of the address that holds
the most makes room for a newcomer, so silent connections push out each other, not a real one.`;

  static override examples = [
    { description: "NICK dialect on the seeds' port 55555", command: '<%= config.bin %> serve' },
    {
      description: 'tilde dialect on a free port, JSON logs',
      command: '<%= config.bin %> serve --dialect tilde --port 0 --log-format json',
    },
    {
      description: "seed 003's variant (prompt Hii, port 11826)",
      command: '<%= config.bin %> serve --prompt Hii',
    },
    {
      description: 'let each member send at most 4 KiB and 20 messages a second (the rest waits)',
      command: '<%= config.bin %> serve --max-rate 4096,20',
    },
    {
      description: 'refuse chunks that do not start with the sender\'s own "<nick>: "',
      command: '<%= config.bin %> serve --strict-prefix',
    },
    {
      description: "the advanced tutorial's admin role (spec §14.2): `admin` must answer PASS with the password",
      command: '<%= config.bin %> serve --admin-password s3cret --ban-file bans.txt',
    },
    {
      description: 'every extension profile on (spec §14): admin, /users /msg /quit /nick, /join /rooms',
      command: '<%= config.bin %> serve --admin-password s3cret --commands --rooms',
    },
    {
      description: 'one room over several processes: run this on every node (docs/cluster.md)',
      command: '<%= config.bin %> serve --port 0 --cluster redis://127.0.0.1:6379 --room lobby',
    },
  ];

  static override flags = {
    dialect: dialectFlag({ default: 'nick' }),
    host: Flags.string({ description: 'address to listen on', default: '127.0.0.1' }),
    port: Flags.integer({
      description:
        'port to listen on; 0 picks a free one [default: 55555 nick, 11826 with --prompt Hii, 9999 tilde]',
      min: 0,
      max: 65_535,
    }),
    prompt: promptFlag,
    framing: framingFlag,
    'strict-prefix': Flags.boolean({
      description:
        'nick: do not relay chunks without the sender\'s own "<nick>: " prefix (they are dropped and logged)',
    }),
    'max-clients': intFlag('most members at once; a newcomer past it is told SERVER_FULL [default: 1000]', 1),
    'max-pending': intFlag('most connections in their handshake at once; the oldest of the address holding the most makes room [default: 256]', 1),
    'max-pending-per-address': intFlag(
      'most connections in their handshake from one address; its oldest makes room [default: 64]',
      1,
    ),
    sanitize: Flags.boolean({
      description:
        'replace control bytes (NUL, ESC, CR, LF, other C0, DEL, C1) in relayed messages with "?", all but a final line ending; off: relayed unchanged, as the legacy wire does',
    }),
    'max-message-bytes': intFlag('longest chunk relayed as one message [default: 1024 nick, 2015 tilde]', 1),
    'handshake-timeout-ms': intFlag('time to finish the handshake [default: 10000]', 1),
    'idle-timeout-ms': intFlag('close members silent this long; 0 never [default: 0]'),
    'max-queue-bytes': intFlag(
      'output queued for one member before it is closed as a slow reader [default: 1048576]',
      1,
    ),
    'write-batching': Flags.option({
      options: ['backpressure', 'turn'] as const,
      default: 'turn' as const,
      description:
        "when one write may carry several messages for a member (FRAME-7): turn = the messages of one batch of ready input go out together (one message per write at human pace, one write per member per batch under load); backpressure = only while the member's socket takes no data (one write per message otherwise: strictest, slow under load)",
    })(),
    cluster: Flags.string({
      description:
        'redis://HOST:PORT[/DB]: every server naming the same Redis, dialect and --room is one room (docs/cluster.md)',
    }),
    room: Flags.string({ description: 'the room name in the cluster [default: main]', dependsOn: ['cluster'] }),
    'node-lease-ms': Flags.integer({
      description:
        'a node silent this long is dead: a survivor announces its members as left within it plus one heartbeat (a third of the lease, at most 1 s) [default: 5000]',
      min: 300,
      dependsOn: ['cluster'],
    }),
    'max-rate': Flags.string({
      description:
        'what one connection may send per second, BYTES[,MESSAGES]; past it its input is paused (throttled, never dropped), logged once per episode as FLOODING; 0 turns a limit off [default: 1048576,2000]',
      helpValue: 'BYTES[,MESSAGES]',
    }),
    'admin-password': Flags.string({
      description:
        "nick: the admin extension profile (spec §14.2): the nickname admin is sent PASS and must answer with this password; the admin may send KICK <nick> and BAN <nick>",
      helpValue: 'PASSWORD',
    }),
    'ban-file': Flags.string({
      description: 'with --admin-password: the ban list, one nickname per line, read at start and appended to (ADMIN-BAN-2)',
      helpValue: 'FILE',
      dependsOn: ['admin-password'],
    }),
    commands: Flags.boolean({
      description: 'nick: the commands extension profile (spec §14.3): /users, /msg <nick> <text>, /quit, /nick <nick>',
    }),
    rooms: Flags.boolean({
      description: 'nick: the rooms extension profile (spec §14.4): /join <room>, /rooms; relay within a room; default room lobby',
    }),
    'log-format': Flags.option({
      options: ['text', 'json'] as const,
      default: 'text' as const,
      description: 'log lines for people or JSON lines for machines',
    })(),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    const logFormat = flags['log-format'];
    const optional = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });
    // The log never stops the server: a gone or stalled reader costs lines, counted (log-sink.ts).
    const sink = logSink(logFormat, {
      primary: process.stdout,
      primaryName: 'stdout',
      fallback: process.stderr,
      fallbackName: 'stderr',
    });
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      // The Redis client loads only here: without --cluster nothing Redis-related does.
      const link =
        flags.cluster === undefined
          ? undefined
          : await openClusterLink(
              { url: flags.cluster, ...optional('room', flags.room), ...optional('leaseMs', flags['node-lease-ms']) },
              flags.dialect,
            );
      server = await startServer({
        ...optional('link', link),
        dialect: flags.dialect,
        host: flags.host,
        framing: flags.framing,
        strictPrefix: flags['strict-prefix'],
        sanitize: flags.sanitize,
        writeBatching: flags['write-batching'],
        commands: flags.commands,
        rooms: flags.rooms,
        ...optional('adminPassword', flags['admin-password']),
        ...optional('banFile', flags['ban-file']),
        logger: sink.log,
        ...optional('port', flags.port),
        ...optional('prompt', flags.prompt),
        ...optional('maxClients', flags['max-clients']),
        ...optional('maxPending', flags['max-pending']),
        ...optional('maxPendingPerAddress', flags['max-pending-per-address']),
        ...optional('maxMessageBytes', flags['max-message-bytes']),
        ...optional('handshakeTimeoutMs', flags['handshake-timeout-ms']),
        ...optional('idleTimeoutMs', flags['idle-timeout-ms']),
        ...optional('maxQueueBytes', flags['max-queue-bytes']),
        ...optional('maxRate', flags['max-rate'] === undefined ? undefined : parseMaxRate(flags['max-rate'])),
      });
    } catch (error) {
      if (error instanceof ServerOptionError) this.fail(error.code, error.message, EXIT_USAGE);
      if (error instanceof ServerListenError) this.fail(error.code, error.message, 1);
      if (error instanceof ClusterAddressError) this.fail(error.code, error.message, EXIT_USAGE);
      if (error instanceof ChatkitError && error.code === 'CLUSTER_UNAVAILABLE')
        this.fail(error.code, error.message, 1);
      throw error;
    }
    if (logFormat === 'text') {
      // Through the sink's stream checks: a reader gone before this line must not crash the server.
      if (!process.stdout.destroyed) process.stdout.write(
        `chatkit serve: ${flags.dialect} dialect listening on ${server.host}:${server.port}${flags.cluster === undefined ? '' : ` in cluster ${flags.cluster} room ${flags.room ?? 'main'}`}${extensionsNote(server.options)} (Ctrl-C to stop)\n`,
      );
    }
    await new Promise<void>((resolve) => {
      const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
      const stop = () => {
        for (const signal of signals) process.off(signal, stop);
        server.close().then(resolve, resolve);
      };
      for (const signal of signals) process.on(signal, stop);
    });
    sink.close();
  }
}

/** `BYTES[,MESSAGES]` of `--max-rate`; a missing MESSAGES keeps its default. */
function parseMaxRate(value: string): { bytes: number; messages: number } {
  const match = /^(\d+)(?:,(\d+))?$/.exec(value.trim());
  if (match === null) throw new ServerOptionError('maxRate', 'must be BYTES[,MESSAGES], e.g. 65536,200');
  return { bytes: Number(match[1]), messages: match[2] === undefined ? SERVER_MAX_RATE_MESSAGES : Number(match[2]) };
}

/** ` with extensions admin, rooms` when extension profiles are on (spec §14), else nothing. */
function extensionsNote(options: ResolvedServerOptions): string {
  const on = enabledProfiles(options);
  return on.length === 0 ? '' : ` with extensions ${on.join(', ')}`;
}
