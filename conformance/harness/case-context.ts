/**
 * What every case context shares, whether chatkit plays the clients (server cases, context.ts) or
 * the server (client cases, client-context.ts): the dialect and timing of the run, the names and
 * tokens a case looks for (unique per run, names.ts), the escaped tail of a stream for a failure's
 * "actual", and the two ways a case ends early, {@link CaseContext.fail} and {@link CaseContext.skip}.
 *
 * @module
 */
import { type DialectName, escapeBytes } from '../../src/codec/index.js';
import type { Connection } from './connection.js';
import type { NameSource } from './names.js';
import { type CaseTiming, DEFAULT_TIMING, FAILURE_STREAM_TAIL_BYTES } from './timing.js';
import { CaseFailure, CaseNotJudged, CaseSkip, type FailureDetails } from './verdict.js';

/** Options of the stream checks. */
export interface ExpectOptions {
  /** The requirement judged. */
  readonly requirement: string;
  /** What the check means, for the report ("alice receives bob's join"). */
  readonly what: string;
  /** Look only at bytes from this stream offset on. */
  readonly after?: number;
  /** Bound; default the case timing's step. */
  readonly timeoutMs?: number;
}

/** The base of both case contexts. */
export abstract class CaseContext {
  readonly dialect: DialectName;
  /** The NICK prompt token: the one expected from a server, or the one chatkit sends a client (`NICK`, `Hii`). */
  readonly prompt: string;
  readonly timing: CaseTiming;
  readonly #names: NameSource;

  protected constructor(options: { dialect: DialectName; prompt?: string; timing?: CaseTiming; names: NameSource }) {
    this.dialect = options.dialect;
    this.prompt = options.prompt ?? 'NICK';
    this.timing = options.timing ?? DEFAULT_TIMING;
    this.#names = options.names;
  }

  /** A nickname unique to this case run, valid in its dialect (see names.ts): at most 32 bytes. */
  nick(base: string): string {
    return this.#names.nick(base);
  }

  /** A text token unique to this case run, for messages the case looks for. */
  token(base = 'msg'): string {
    return this.#names.token(base);
  }

  /**
   * The last {@link FAILURE_STREAM_TAIL_BYTES} of `conn`'s stream between `after` and `before`,
   * escaped, with `…` in front when more came before: what a failure shows as arrived.
   */
  protected streamTail(conn: Connection, after = 0, before?: number): string {
    const stream = conn.stream().subarray(after, before);
    const cut = Math.max(0, stream.length - FAILURE_STREAM_TAIL_BYTES);
    return `${cut > 0 ? '…' : ''}${escapeBytes(stream.subarray(cut))}`;
  }

  /** Fails the case. */
  fail(details: FailureDetails): never {
    throw new CaseFailure(details);
  }

  /** Skips the case with a reason. */
  skip(reason: string): never {
    throw new CaseSkip(reason);
  }

  /** Ends the case as not judged: its evidence fell short for a reason of the judge's ({@link CaseNotJudged}). */
  notJudged(reason: string): never {
    throw new CaseNotJudged(reason);
  }
}
