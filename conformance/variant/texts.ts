/**
 * The texts a server case expects from the target: the spec's (spec/PROTOCOL.md §4–§5), or a
 * variant's (`--learn`, `--variant`: a student's wording, judged as an INFO deviation). The harness
 * (context.ts) builds every join, welcome and leave it looks for from these, so a variant changes
 * what is expected in one place, and behaviour is judged the same way either way.
 *
 * @module
 */
import type { DialectName } from '../../src/codec/index.js';

/** Where a template puts the nickname (username). */
export const NICK_PLACEHOLDER = '{nick}';

/** A server's texts around the nickname: announcement templates hold {@link NICK_PLACEHOLDER} once. */
export interface ServerTexts {
  /** NICK: what the newcomer is told once admitted (NICK-JOIN-2); tilde has none (''). */
  readonly welcome: string;
  /** The join announcement every member gets (NICK-JOIN-1, TILDE-JOIN-1). */
  readonly joined: string;
  /** The leave announcement the remaining members get (NICK-LEAVE-1, TILDE-LEAVE-2). */
  readonly left: string;
}

/** The spec's texts, per dialect. */
export const SPEC_TEXTS: Readonly<Record<DialectName, ServerTexts>> = {
  nick: { welcome: 'Connected to server!', joined: '{nick} joined!', left: '{nick} left!' },
  tilde: { welcome: '', joined: 'SERVER~{nick} added to the chat', left: 'SERVER~{nick} left the chat' },
};

/** A template with the nickname put in. */
export function fillTemplate(template: string, nick: string): string {
  // A function, so that `$&` and the like in a nickname stay literal.
  return template.replace(NICK_PLACEHOLDER, () => nick);
}
