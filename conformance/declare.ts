/**
 * What a target declares (spec/PROTOCOL.md §9.1.1): its dialect, prompt token, framing profile and the
 * optional behaviours it wants judged, in one small JSON or YAML file read by
 * `chatkit conform --declare FILE`. The schema is the contract; the conform command merges the
 * result into its flags ({@link declaredFlags}) and applies the other fields ({@link declarationEffect}):
 * every field takes effect or is named in a note, none is ignored in silence.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isPromptToken, PROMPT_TOKEN_RULE } from '../src/codec/index.js';
import { ChatkitError } from '../src/errors.js';
import type { ConformanceCase } from './harness/case.js';
import { requirementIndex } from './harness/requirements.js';
import { HANDSHAKE_CLOSE_BOUND_MS } from './nick/robustness.js';

/** The lowest handshake timeout a target may declare (spec Annex E, `SERVER_HANDSHAKE_TIMEOUT_MS`). */
export const DECLARED_HANDSHAKE_TIMEOUT_MIN_MS = 1_000;

/** The format's version; a later format takes the next number (§9.1.1). */
export const DECLARATION_VERSION = 1;

/** A MAY requirement of the spec: the only kind a target can declare as an optional behaviour. */
const optionalRequirement = z.string().refine((id) => requirementIndex().get(id)?.level === 'MAY', {
  message: 'not a MAY requirement of spec/PROTOCOL.md (only optional behaviours can be declared)',
});

/** The schema of a declaration file. Unknown keys are an error: a misspelt option must not be ignored. */
export const TARGET_DECLARATION_SCHEMA = z
  .strictObject({
    declaration: z.literal(DECLARATION_VERSION),
    dialect: z.enum(['nick', 'tilde']),
    side: z.enum(['server', 'client']).default('server'),
    // NICK-PROMPT-1: the `token` rule of Annex D, the one isPromptToken checks.
    prompt: z.string().refine(isPromptToken, { message: `must be ${PROMPT_TOKEN_RULE}` }).optional(),
    framing: z.enum(['chunk', 'line']).default('chunk'),
    optional: z.array(optionalRequirement).default([]),
    // §14: the extension profiles a target speaks; each adds its profile's cases to the run (EXT-1).
    extensions: z.array(z.enum(['admin', 'commands', 'rooms'])).default([]),
    handshakeTimeoutMs: z.number().int().min(DECLARED_HANDSHAKE_TIMEOUT_MIN_MS).optional(),
  })
  .refine((d) => d.prompt === undefined || d.dialect === 'nick', {
    message: 'a prompt token is declared only for the NICK dialect',
    path: ['prompt'],
  });

/** A checked declaration, defaults filled in. */
export type TargetDeclaration = z.infer<typeof TARGET_DECLARATION_SCHEMA>;

/** Thrown for a declaration that cannot be read or does not fit the schema; `issues` are zod's, as data. */
export class DeclarationError extends ChatkitError {
  /** Creates the error (code `DECLARATION_INVALID`). */
  constructor(
    message: string,
    readonly issues: readonly z.core.$ZodIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super('DECLARATION_INVALID', message, options);
    this.name = 'DeclarationError';
  }
}

/** Checks a parsed document (JSON or YAML) against {@link TARGET_DECLARATION_SCHEMA}. */
export function parseDeclaration(document: unknown, source = 'declaration'): TargetDeclaration {
  const result = TARGET_DECLARATION_SCHEMA.safeParse(document);
  if (!result.success) {
    const where = result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new DeclarationError(`${source}: ${where}`, result.error.issues);
  }
  return result.data;
}

/** Reads and checks a declaration file; YAML parses JSON too, so one reader serves both. */
export function readDeclaration(path: string): TargetDeclaration {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new DeclarationError(`${path}: cannot read the declaration file`, [], { cause });
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    throw new DeclarationError(`${path}: not JSON or YAML`, [], { cause });
  }
  return parseDeclaration(document, path);
}

/** The conform flags a declaration can set. */
export interface DeclarableFlags {
  readonly dialect: 'auto' | 'nick' | 'tilde';
  readonly prompt: string | undefined;
  readonly framing: 'chunk' | 'line';
}

/**
 * The flags after applying `declaration`: a flag given on the command line wins; a flag left at its
 * default (`--dialect auto`, `--framing chunk`, no `--prompt`) takes the declared value. A declaration
 * that contradicts an explicit flag is an error, not a silent choice.
 */
export function declaredFlags(flags: DeclarableFlags, declaration: TargetDeclaration | undefined): DeclarableFlags {
  if (declaration === undefined) return flags;
  if (flags.dialect !== 'auto' && flags.dialect !== declaration.dialect) {
    throw new DeclarationError(`--dialect ${flags.dialect} contradicts the declared dialect ${declaration.dialect}`);
  }
  return {
    dialect: declaration.dialect,
    prompt: flags.prompt ?? declaration.prompt,
    framing: flags.framing === 'chunk' ? declaration.framing : flags.framing,
  };
}

/**
 * The longest handshake timeout the ROBUST-HANDSHAKE-2 cases wait out (before `--timeout-scale`):
 * a declared longer one is correct (the spec asks for a bounded time) but cannot be judged by them.
 */
export const JUDGED_HANDSHAKE_TIMEOUT_MAX_MS = HANDSHAKE_CLOSE_BOUND_MS;

/** What the rest of a declaration does to a run, beyond the flags ({@link declaredFlags}). */
export interface DeclarationEffect {
  /** Case ids the run leaves out because the declaration says they cannot judge this target. */
  readonly exclude: readonly string[];
  /** One sentence per declared field this suite cannot use, for the user (stderr). */
  readonly notes: readonly string[];
}

/**
 * Applies the declared fields other than dialect, prompt and framing (spec §9.1.1):
 *
 * - `side` must match how the target is given (`--client` for a client), or the run stops;
 * - `optional`: a declared MAY requirement is judged by the cases that cite it, which
 *   are run (they are not excluded); one that no case judges gets a note, never a silent pass;
 * - `handshakeTimeoutMs` longer than the suite waits leaves out the ROBUST-HANDSHAKE-2 cases,
 *   which would fail a correct target, with a note; a shorter one needs nothing;
 * (`extensions` select profiles: the extension profiles' own code applies them.)
 */
export function declarationEffect(
  declaration: TargetDeclaration | undefined,
  given: { readonly side: 'server' | 'client' },
  cases: readonly ConformanceCase[],
): DeclarationEffect {
  if (declaration === undefined) return { exclude: [], notes: [] };
  if (declaration.side !== given.side) {
    throw new DeclarationError(
      declaration.side === 'client'
        ? 'the declaration says the target is a client: give it with --client "CMD {host} {port}"'
        : 'the declaration says the target is a server (side: server, the default): give it with --target or --spawn, or declare side: client',
    );
  }
  const notes: string[] = [];
  const exclude: string[] = [];
  for (const id of declaration.optional) {
    const judging = cases.filter((c) => c.dialect === declaration.dialect && c.requirements.includes(id));
    if (judging.length === 0) {
      notes.push(`optional ${id} is declared, but no case of this suite judges it for ${declaration.dialect}: it is not judged`);
    }
  }
  const timeout = declaration.handshakeTimeoutMs;
  if (timeout !== undefined && timeout > JUDGED_HANDSHAKE_TIMEOUT_MAX_MS) {
    const left = cases.filter(
      (c) => c.dialect === declaration.dialect && c.kind === 'server' && c.requirements.includes('ROBUST-HANDSHAKE-2'),
    );
    exclude.push(...left.map((c) => c.id));
    notes.push(
      `handshakeTimeoutMs ${timeout} is longer than the ${JUDGED_HANDSHAKE_TIMEOUT_MAX_MS} ms the suite waits: ${left.map((c) => c.id).join(', ')} left out (ROBUST-HANDSHAKE-2 not judged)`,
    );
  }
  return { exclude, notes };
}
