/**
 * chatkit's one error base and its one table of codes. Match on `code`, never on the message:
 * the English text may change, the codes are stable and listed in `spec/README.md`.
 *
 * @module
 */

/**
 * Every stable error code chatkit uses, with the sentence that explains it.
 * `spec/README.md` lists the same table; a test keeps the two in step.
 */
export const ERROR_CODES = {
  // Codec: decoding and encoding (spec/PROTOCOL.md §2–§5).
  NICK_NON_ASCII: 'A byte of 0x80 or above in the NICK dialect, which is 7-bit ASCII.',
  INVALID_UTF8: 'Bytes that are not well-formed UTF-8 in the tilde dialect.',
  TRUNCATED_UTF8: 'The stream ended inside a UTF-8 character.',
  PROMPT_INVALID: 'A prompt token that is empty, too long or not printable ASCII.',
  UNEXPECTED_MESSAGE:
    'A chunk that is no message allowed in the current state (e.g. anything but the prompt first).',
  NICKNAME_EMPTY: 'An empty nickname or username.',
  NICKNAME_TOO_LONG: 'A nickname or username longer than 32 bytes.',
  NICKNAME_FORBIDDEN_CHAR:
    'A nickname or username holding a separator, a space (NICK) or a control character.',
  NICKNAME_RESERVED: 'The username `SERVER`, which would let a member forge server notices.',
  TEXT_FORBIDDEN_CHAR:
    'Message text holding a byte its field does not allow (e.g. a control byte in NICK chat text).',
  CONTENT_EMPTY: 'An empty message; an empty write sends nothing at all.',
  MESSAGE_TOO_LONG:
    "A message longer than the dialect's limit (NICK 1024 bytes, tilde 2048, tilde content 2015).",
  TILDE_MISSING_SEPARATOR: 'A tilde server-to-client chunk without the `~` separator.',
  INVALID_MESSAGE:
    'A message object that does not fit its schema (a field of the wrong type, an unknown field).',
  UNKNOWN_MESSAGE_TYPE: 'An encoder was asked for a message type the dialect does not define.',
  LINE_TOO_LONG: 'Line profile: a line longer than the message limit; it is skipped up to the next LF.',
  TRUNCATED_LINE: 'Line profile: the stream ended in the middle of a line.',
  // Reference server (spec/PROTOCOL.md §6).
  SERVER_FULL:
    'The server already has as many members as its client limit allows; the newcomer is told so and closed.',
  SERVER_LISTEN_FAILED: 'The server could not listen on the address (in use, or not permitted).',
  HANDSHAKE_TIMEOUT: 'A connection did not finish its handshake within the handshake timeout.',
  IDLE_TIMEOUT: 'A member sent nothing within the idle timeout.',
  NICKNAME_IN_USE: 'The nickname or username is already used by a member.',
  SLOW_CONSUMER:
    "A member's queued output passed the per-member limit: it stopped reading, so it was closed.",
  PREFIX_MISMATCH:
    "With strict prefix on, a chunk that does not start with the sender's own `<nick>: ` was not relayed.",
  // Reference client (spec/PROTOCOL.md §7).
  CONNECT_FAILED: 'A TCP connection could not be opened (refused, unreachable).',
  CONNECT_TIMEOUT: 'A TCP connection could not be opened within the connect timeout.',
  CLIENT_REFUSED:
    'The server refused the nickname or username (`Refused: <reason>`); the error carries the reason.',
  CLIENT_CLOSED_DURING_HANDSHAKE:
    "The connection ended (EOF or reset) before the client's handshake completed.",
  CLIENT_HANDSHAKE_TIMEOUT: "The client's handshake did not complete within its handshake timeout.",
  CLIENT_DIALECT_UNDETECTED:
    "Dialect `auto`: the server's first bytes were no prompt token, so the dialect is unknown.",
  CLIENT_NOT_CONNECTED: "The client's connection has ended: nothing can be sent or awaited on it.",
  CLIENT_SEND_BACKLOG:
    'The client has too many unsent bytes queued: the server is not reading, so the message was not sent.',
  CLIENT_WAIT_TIMEOUT: 'A client wait for an event passed its deadline.',
  CLIENT_EVENT_OVERFLOW:
    "Events nobody read in time were dropped (oldest first) to keep the client's memory bounded; the issue counts them.",
  // Conformance harness: connections and spawned targets.
  TARGET_SPAWN_FAILED: 'A target process could not be started at all (e.g. the command was not found).',
  TARGET_NEVER_LISTENED: 'A spawned target did not listen on its port before the deadline.',
  TARGET_EXITED: 'A spawned target exited while chatkit waited for it to listen.',
  TARGET_WAIT_TIMEOUT: "A bounded wait on a target's output or process state passed its deadline.",
  WAIT_TIMEOUT: 'A bounded wait for bytes on a connection passed its deadline.',
  CLOSED_BEFORE_MATCH: 'A connection closed before the awaited bytes arrived.',
  ACCEPT_TIMEOUT: 'No connection arrived at a listener before the deadline.',
  BAD_ARGUMENT: 'An argument out of range (e.g. a quiet window longer than the harness allows).',
  // chatkit conform (cli/commands/conform.ts, conformance/probe.ts, conformance/report/).
  PROBE_UNREACHABLE:
    'chatkit conform: nothing accepted a connection at the target, so nothing could be judged.',
  PROBE_NO_DIALECT:
    'chatkit conform --dialect auto: the target answered as neither dialect (no prompt, no join for the probe).',
  CASE_UNKNOWN: 'chatkit conform: an --only or --exclude pattern matches no case id.',
  CONFORM_NO_CASES: 'chatkit conform: the selection (dialect, profiles, --only, --exclude) holds no case.',
  BASELINE_INVALID:
    'chatkit conform: the --baseline file is missing or not a list of case ids with verdicts.',
  REPORT_INVALID:
    'chatkit conform: a report did not fit its documented schema (a bug in chatkit, not the target).',
  REPORT_WRITE_FAILED: 'chatkit conform: a report, badge or baseline file could not be written.',
  PORT_RANGE_INVALID: 'chatkit conform: --port-range is not LO-HI within 1-65535.',
  PORT_RANGE_FULL: 'chatkit conform: no free port was found in the --port-range for a spawned target.',
  CLUSTER_BAD_URL: 'chatkit serve --cluster: the address is not redis://HOST:PORT[/DB].',
  CLUSTER_UNAVAILABLE: 'Clustered server: Redis is unreachable, so a nickname cannot be claimed for the room; the newcomer is refused.',
  CLUSTER_REDIS_LOST:
    'Clustered server: the connection to Redis was lost; members on this node keep chatting among themselves while it reconnects.',
  CLUSTER_REDIS_RESTORED:
    'Clustered server: Redis is back; the entry counts what this node could not share while it was away (other nodes\' broadcasts of that time are lost too).',
  CLUSTER_NODE_DEAD: "Clustered server: a node's lease expired; its members were announced as left by this node.",
  CLUSTER_NICK_CONFLICT:
    'Clustered server: after a Redis outage, a local member\'s nickname was claimed by a member of another node meanwhile.',
  FLOODING:
    'A member sent faster than its rate limit (`--max-rate`); its input was paused (throttled, nothing dropped).',
  HANDSHAKE_EVICTED:
    'A connection still in its handshake was closed to make room for a newer one: too many handshakes pending, in total or from its address.',
  SERVER_NO_DESCRIPTORS:
    'The server ran out of file descriptors (EMFILE, ENFILE) and could not accept; logged once, it accepts again when descriptors free up.',
  TARGET_FLOODED:
    'chatkit conform: the target sent more than the recording cap (per connection or per run) allows; recording stopped and the case says so.',
  TARGET_ESCAPED:
    'chatkit conform: a process started by the target outlived the case (e.g. it called setsid()); it was killed and its listener reported.',
  REPORT_PATH_INVALID:
    'chatkit conform: an output path is not writable, is given twice, or holds a file that is not a chatkit report (use --force).',
  DECLARATION_INVALID:
    'chatkit conform --declare: the target declaration file is missing, unreadable or does not fit its schema (spec §9.1.1).',
  TARGET_LISTENS_ELSEWHERE:
    'chatkit conform --spawn: the target listens, but on other ports than the {port} it was given (a hard-coded port); the error names them and the fix (drop {port}: docs/handed-in.md).',
  CLIENT_NOT_MAPPABLE:
    'chatkit conform --client: a command without {port} that is not a Python program; only Python clients can be run as handed in (docs/handed-in.md).',
  VARIANT_INVALID:
    'chatkit conform --variant: the variant file is missing, unreadable or does not fit its format (docs/variants.md).',
  VARIANT_NOT_LEARNED:
    'chatkit conform --learn: the first session did not show the texts a variant needs (join, welcome, leave); the error says which were missing.',
  NICKNAME_BANNED: 'The nickname is on the ban list (admin profile, spec §14.2): answered BAN and closed.',
  ADMIN_PASSWORD_WRONG: 'The answer to PASS was not the admin password (admin profile, spec §14.2): answered REFUSE and closed.',
  ADMIN_KICKED: 'The admin kicked or banned this member (admin profile, spec §14.2).',
  GRADE_NO_SUBMISSIONS:
    'chatkit grade: the paths and globs given name no submission (no folder, no .py file); an empty --shard slice is no error.',
  GRADE_CONFIG_INVALID:
    "chatkit grade: a submission's chatkit.json is unreadable or does not fit its schema (docs/grading.md); that submission is reported as not judged.",
  GRADE_DUPLICATE_STUDENT:
    'chatkit grade: two submissions (or two merged slices) have the same student name (the folder or file name); rename one or grade them apart.',
  RUBRIC_INVALID:
    'chatkit grade --rubric: the rubric file is missing, unreadable or does not fit its schema (docs/grading.md).',
  GRADE_SHARD_INVALID:
    'chatkit grade --shard: not of the form i/n with 1 <= i <= n.',
  GRADE_MERGE_INVALID:
    'chatkit grade merge: a folder holds no grade.json written by chatkit grade, or one of another schema version.',
  GRADE_NO_SERVER:
    'chatkit grade: a submission holds no server program (no .py file calls listen(), or chatkit.json names none); it is reported as not judged.',
  GRADE_SYNTAX_ERROR:
    "chatkit grade: a submission's program does not compile (Python SyntaxError, checked without writing anything); it is reported as not judged, with the line.",
  GRADE_RUN_CUT_SHORT:
    "chatkit grade: a submission's run was cut short (its server stopped answering or the harness could not judge it); it is reported as not judged, with the reason.",
  LOG_OUTPUT_LOST:
    "chatkit serve: log lines were lost (the log's reader went away or did not keep up); the server kept serving, logs on stderr if stdout failed, and says how many.",
  ESCAPE_SYNTAX:
    "An escaped byte string (a vector's or a transcript's) holds a malformed escape; the error gives its offset.",
  SERVER_BAD_OPTION:
    'A reference server option is out of range or unknown; nothing listens.',
  BENCH_BAD_OPTION:
    'chatkit bench: an option is out of range or contradicts another (e.g. --spawn without {port}).',
  BENCH_CONNECT_FAILED:
    'chatkit bench: the load generator could not connect to the target or join its members.',
  CLIENT_BAD_OPTION:
    "The reference client's connect() was given an option out of range (a port, a timeout, a limit) or an unknown dialect or framing.",
  CLUSTER_REDIS_SLOW:
    'Clustered server: Redis did not answer within the command timeout on a live connection (a busy Redis or a starved node); nothing is lost, the entry counts the late commands when replies are back.',
  CLUSTER_REDIS_REFUSED:
    'Clustered server: Redis answered a broadcast with an error (e.g. OOM, NOPERM); the other nodes did not get it, members on this node did.',
  CLUSTER_SUBSCRIBER_DROPPED:
    "Clustered server: Redis closed this node's subscription while still answering its commands, most likely its client-output-buffer-limit for pub/sub (docs/cluster.md); the node resubscribes.",
  CONFORM_USAGE:
    'chatkit conform: the options contradict each other or lack a value another needs (e.g. --update-baseline without --baseline).',
} as const;

/** One of chatkit's stable error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The base of every error chatkit throws or reports. */
export class ChatkitError extends Error {
  /** Stable code; see {@link ERROR_CODES}. */
  readonly code: ErrorCode;

  /** Creates an error; `code` is the stable part, `message` is for people and may change. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChatkitError';
    this.code = code;
  }
}

/**
 * A decoding or encoding issue. Decoders return these as data (they never throw on input bytes);
 * encoders throw them.
 */
export class CodecError extends ChatkitError {
  /** Byte offset in the decoded stream where the offending frame starts (0 for encoder errors). */
  readonly offset: number;
  /** The offending bytes (the whole frame), kept so nothing a peer sent is lost from view. */
  readonly bytes: Uint8Array;
  /** The spec requirement the input breaks, e.g. `NICK-NICK-2`. */
  readonly requirement: string;

  /** Creates a codec error with where in the stream, which bytes, and the requirement they break. */
  constructor(
    code: ErrorCode,
    message: string,
    details: { offset?: number; bytes?: Uint8Array; requirement: string; cause?: unknown },
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CodecError';
    this.offset = details.offset ?? 0;
    this.bytes = details.bytes ?? new Uint8Array(0);
    this.requirement = details.requirement;
  }
}
