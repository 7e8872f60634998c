/**
 * Every bound chatkit enforces, in one place, as named constants. Wire limits come from the
 * generated dialect tables (so the spec is their one source); each can be overridden through the
 * options of the code that enforces it, and each has an error code in `src/errors.ts`.
 *
 * @module
 */
import { NICK_DIALECT, TILDE_DIALECT } from './codec/generated/tables.js';

/** Legacy NICK peers read with `recv(1024)` (TRANSPORT-3). */
export const NICK_RECV_BYTES = NICK_DIALECT.limits.recvBytes;
/** Legacy tilde peers read with `recv(2048)` (TRANSPORT-3). */
export const TILDE_RECV_BYTES = TILDE_DIALECT.limits.recvBytes;
/** Longest NICK message on the wire, so a legacy `recv(1024)` gets it whole. */
export const NICK_MESSAGE_MAX_BYTES = NICK_DIALECT.limits.messageMaxBytes;
/** Longest tilde server-to-client message, so a legacy `recv(2048)` gets it whole. */
export const TILDE_MESSAGE_MAX_BYTES = TILDE_DIALECT.limits.messageMaxBytes;
/** Longest tilde content: 2048 - (32 + 1), so `<user>~<content>` still fits one `recv(2048)`. */
export const TILDE_CONTENT_MAX_BYTES = TILDE_DIALECT.limits.contentMaxBytes;
/** Longest nickname (NICK) or username (tilde), in bytes of the dialect's encoding. */
export const NICKNAME_MAX_BYTES = NICK_DIALECT.limits.nicknameMaxBytes;
/** Most bytes of an unfinished UTF-8 character a tilde receiver holds back (FRAME-4). */
export const UTF8_HOLD_MAX_BYTES = 3;

/** Reference server: most members at once; one more is refused (SERVER_FULL). Handshakes are bounded by SERVER_MAX_PENDING. */
export const SERVER_MAX_CLIENTS = 1_000;
/** Reference server: time a connection has to finish its handshake (ROBUST-HANDSHAKE-2). */
export const SERVER_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Reference server: a member silent this long is closed; 0 turns it off (the default: chats idle). */
export const SERVER_IDLE_TIMEOUT_MS = 0;
/** Reference server: output queued for one member past which it is closed as a slow reader (ROBUST-SLOW-1). */
export const SERVER_MAX_QUEUE_BYTES = 1024 * 1024;
/** Reference server: on shutdown, time members get to take their queued output before sockets are destroyed. */
export const SERVER_SHUTDOWN_GRACE_MS = 2_000;
/** Reference server: longest pause between two sweeps for timeouts (one shared timer, no timer per member). */
export const SERVER_SWEEP_MAX_INTERVAL_MS = 1_000;
/** Clustered server: how often a node renews its lease and its members' nickname claims in Redis. */
export const CLUSTER_HEARTBEAT_MS = 1_000;
/**
 * Clustered server: a node whose lease is this old is dead; a survivor announces its members as
 * left within this plus one heartbeat. Its nickname claims expire with it.
 */
export const CLUSTER_NODE_LEASE_MS = 5_000;
/** Clustered server: first pause before reconnecting to Redis; doubled each attempt up to the maximum. */
export const CLUSTER_RECONNECT_BASE_MS = 50;
/** Clustered server: longest pause between two attempts to reconnect to Redis. */
export const CLUSTER_RECONNECT_MAX_MS = 2_000;
/** Clustered server: longest wait for one Redis command (a nickname claim, a heartbeat). */
export const CLUSTER_COMMAND_TIMEOUT_MS = 2_000;
/**
 * Reference server: what one member may send per second, in bytes (`--max-rate`). Past it the
 * member's input is paused until it is back within the rate (throttled: delayed, never dropped).
 * 1 MiB/s is about 10,000 lines a second, far above any person or the conformance suite's floods
 * (which must fill a slow reader's kernel buffers, megabytes, within a case's time); what a room
 * cannot fan out at that rate is held back by the room's backlog (input paused, see `flow.ts`).
 */
export const SERVER_MAX_RATE_BYTES = 1024 * 1024;
/** Reference server: what one member may send per second, in messages (chunks read), `--max-rate`. */
export const SERVER_MAX_RATE_MESSAGES = 2_000;
/** Reference server: a member may send this many seconds' worth of its rate at once before it is throttled. */
export const SERVER_RATE_BURST_SECONDS = 2;
/**
 * Reference server: a member with more output waiting than this (or than a quarter of its queue
 * bound, if less) is backed up. When enough members
 * are backed up at once (see {@link SERVER_ROOM_BACKLOG_SHARE}), the input of every member who
 * sends is paused until they have caught up: the room reads no faster than it can write.
 */
export const SERVER_BACKLOG_HIGH_BYTES = 256 * 1024;
/** Reference server: a backed-up member has caught up once its waiting output is down to this (at most a sixteenth of the queue bound). */
export const SERVER_BACKLOG_LOW_BYTES = 64 * 1024;
/**
 * Reference server: the room is backed up when at least this share of its members (and at least
 * {@link SERVER_ROOM_BACKLOG_MIN_MEMBERS}) are: one member that does not read never pauses the room.
 */
export const SERVER_ROOM_BACKLOG_SHARE = 1 / 16;
/** Reference server: the fewest backed-up members that make the room backed up. */
export const SERVER_ROOM_BACKLOG_MIN_MEMBERS = 2;
/**
 * Reference server: a backed-up member whose output has not moved for this long does not read
 * (while others do, or the room would not be moving): it is closed as a slow consumer.
 */
export const SERVER_STALL_MS = 5_000;
/** Reference server: a flood episode ends after this long without throttling; the next one is logged again. */
export const SERVER_FLOOD_EPISODE_QUIET_MS = 10_000;
/** Reference server: time an evicted slow consumer gets to take its notice before its socket is destroyed. */
export const SERVER_EVICT_LINGER_MS = 1_000;
/**
 * Reference server: a refused, timed-out or departed connection whose peer does not close its side is
 * destroyed this long after our last byte went out, so it cannot hold a descriptor (ROBUST-HANDSHAKE-2, ROBUST-BAD-1).
 */
export const SERVER_CLOSE_LINGER_MS = 2_000;
/** Reference server: most connections still in their handshake at once; past it the oldest of the address holding the most is closed. */
export const SERVER_MAX_PENDING = 256;
/** Reference server: most connections in their handshake from one address; past it that address's oldest is closed. */
export const SERVER_MAX_PENDING_PER_ADDRESS = 64;
/** Reference server: log lines of one kind (event and code) written per {@link SERVER_LOG_WINDOW_MS} before the rest are counted. */
export const SERVER_LOG_BURST = 20;
/** Reference server: the window of {@link SERVER_LOG_BURST}; suppressed lines are reported with their count when it ends. */
export const SERVER_LOG_WINDOW_MS = 1_000;
/** Reference server: descriptors kept free below the process's limit; closer than this counts as out of descriptors. */
export const SERVER_FD_HEADROOM = 8;

/**
 * Reference server (`chatkit serve`): log bytes that may wait in memory for a log reader that does
 * not keep up; past it, lines are dropped and counted (`LOG_OUTPUT_LOST`), never the server's memory.
 */
export const LOG_SINK_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Longest NICK prompt token (§4.2: the generated `token` field's 1–32 printable ASCII bytes). */
export const PROMPT_TOKEN_MAX_BYTES = 32;

/** Reference client: default bound on establishing the TCP connection. */
export const CLIENT_CONNECT_TIMEOUT_MS = 5_000;
/**
 * Reference client: default bound on the whole handshake, from the connection to `Connected to
 * server!` (NICK) or the user's own `SERVER~<user> added to the chat` (tilde). Matches the server's
 * default (ROBUST-HANDSHAKE-2), so a conformant server gives up no later than the client does.
 */
export const CLIENT_HANDSHAKE_TIMEOUT_MS = SERVER_HANDSHAKE_TIMEOUT_MS;
/**
 * Reference client, `auto`: how long the client listens for a prompt before it concludes that the
 * server waits for it to speak first (tilde). A NICK server prompts at once (NICK-PROMPT-1), so on
 * loopback or a LAN the prompt arrives well within this; over a slow link, name the dialect instead.
 */
export const AUTO_PROMPT_WAIT_MS = 750;
/**
 * Reference client, `auto`: after the first bytes arrive, how long more bytes are still taken as
 * part of the prompt token. NICK-PROMPT-2 guarantees that nothing but the prompt comes before the
 * nickname, so bytes in this window can only be the rest of a prompt that TCP split.
 */
export const AUTO_PROMPT_SETTLE_MS = 50;
/**
 * Reference client: default bound on unread events. Each event holds at most one frame (2048
 * bytes), so a reader that never reads costs at most about 2 MiB; past the bound the oldest events
 * are dropped and counted (`CLIENT_EVENT_OVERFLOW`).
 */
export const CLIENT_MAX_QUEUED_EVENTS = 1_000;
/** Reference client: how long `close()` waits for its FIN to be flushed before it destroys the socket. */
export const CLIENT_CLOSE_TIMEOUT_MS = 1_000;
/**
 * Reference client: most bytes `send()` lets wait in the socket's write buffer. A server that stops
 * reading would otherwise make the client buffer without bound; chat messages are small, so a
 * backlog this large means the server is not reading at all.
 */
export const CLIENT_SEND_BACKLOG_BYTES = 64 * 1024;
/** Reference client: default bound of `waitFor()`. */
export const CLIENT_WAIT_TIMEOUT_MS = 5_000;
