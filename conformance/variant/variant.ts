/**
 * Wording variants (docs/variants.md): a server's own texts (prompt, welcome, join and leave
 * announcements, encoding), learned from a first session (`--learn`, learn.ts) or written in a file
 * (`--variant FILE`, JSON or YAML). The run then judges behaviour against these texts instead of the
 * spec's, and reports each difference once as an INFO deviation of the requirement that names the
 * spec's text, which does not fail the run.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import type { DialectName } from '../../src/codec/index.js';
import { ChatkitError } from '../../src/errors.js';
import { isPromptToken, PROMPT_TOKEN_RULE } from '../../src/codec/index.js';
import { NICK_PLACEHOLDER, SPEC_TEXTS, type ServerTexts } from './texts.js';

/** The file format's name and version. */
export const VARIANT_SCHEMA = 'chatkit-variant/1';

const template = z
  .string()
  .min(1)
  .refine((t) => t.split(NICK_PLACEHOLDER).length === 2, { message: `must hold ${NICK_PLACEHOLDER} exactly once` });

/** A variant file. Texts left out are the spec's. */
export const variantSchema = z.strictObject({
  schema: z.literal(VARIANT_SCHEMA).optional(),
  dialect: z.enum(['nick', 'tilde']),
  /** NICK: the prompt token (spec: `NICK`). */
  prompt: z.string().refine(isPromptToken, { message: `must be ${PROMPT_TOKEN_RULE}` }).optional(),
  /** NICK: what the newcomer is told once admitted (spec: `Connected to server!`). */
  welcome: z.string().min(1).optional(),
  /** The join announcement, `{nick}` where the nickname goes (spec: `{nick} joined!`, `SERVER~{nick} added to the chat`). */
  joined: template.optional(),
  /** The leave announcement (spec: `{nick} left!`, `SERVER~{nick} left the chat`). */
  left: template.optional(),
  /** The encoding of the server's texts and nicknames (spec: NICK `ascii`, tilde `utf-8`). */
  encoding: z.enum(['ascii', 'utf-8']).optional(),
  /** Free text: where the variant comes from. */
  note: z.string().optional(),
});

/** A variant, as read from a file or learned. */
export type Variant = z.infer<typeof variantSchema>;

/** The spec's encoding per dialect. */
export const SPEC_ENCODING: Readonly<Record<DialectName, 'ascii' | 'utf-8'>> = { nick: 'ascii', tilde: 'utf-8' };

/** A `--variant` file that cannot be used. */
export class VariantError extends ChatkitError {
  constructor(message: string) {
    super('VARIANT_INVALID', message);
    this.name = 'VariantError';
  }
}

/** Reads and checks a variant file (JSON or YAML). */
export function readVariant(path: string): Variant {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new VariantError(`--variant ${path}: cannot read it: ${error instanceof Error ? error.message : String(error)}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text); // YAML is a superset of JSON: one parser for both.
  } catch (error) {
    throw new VariantError(`--variant ${path}: neither JSON nor YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = variantSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ');
    throw new VariantError(`--variant ${path}: not a variant file (docs/variants.md): ${issues}`);
  }
  return parsed.data;
}

/** The variant as a YAML file, with a header that says how to use it. */
export function renderVariant(variant: Variant): string {
  const header = `# chatkit wording variant (docs/variants.md): judge a server against these texts with\n#   chatkit conform --variant FILE ...\n`;
  return header + stringifyYaml({ schema: VARIANT_SCHEMA, ...variant }, { lineWidth: 0 });
}

/** The texts the judge expects under `variant` (the spec's where it says nothing). */
export function variantTexts(variant: Variant): ServerTexts {
  const spec = SPEC_TEXTS[variant.dialect];
  return {
    welcome: variant.dialect === 'nick' ? (variant.welcome ?? spec.welcome) : spec.welcome,
    joined: variant.joined ?? spec.joined,
    left: variant.left ?? spec.left,
  };
}

/** One wording difference: the requirement whose text differs, the spec's text and the variant's. */
export interface WordingDeviation {
  readonly requirement: string;
  /** Which text: prompt, welcome, joined, left or encoding. */
  readonly text: 'prompt' | 'welcome' | 'joined' | 'left' | 'encoding';
  readonly spec: string;
  readonly variant: string;
  /** One sentence for reports. */
  readonly message: string;
}

const REQUIREMENTS: Readonly<Record<DialectName, Partial<Record<WordingDeviation['text'], string>>>> = {
  nick: { prompt: 'NICK-PROMPT-1', welcome: 'NICK-JOIN-2', joined: 'NICK-JOIN-1', left: 'NICK-LEAVE-1', encoding: 'ENC-NICK-1' },
  tilde: { joined: 'TILDE-JOIN-1', left: 'TILDE-LEAVE-2', encoding: 'ENC-TILDE-1' },
};

const WHAT: Readonly<Record<WordingDeviation['text'], string>> = {
  prompt: 'the prompt',
  welcome: "the newcomer's welcome",
  joined: 'the join announcement',
  left: 'the leave announcement',
  encoding: 'the encoding',
};

/**
 * Every text in which `variant` differs from the spec, once each, with the requirement that names
 * the spec's text. `knownPrompts`: prompts the spec itself allows (`NICK`, `Hii`), which are no
 * deviation.
 */
export function wordingDeviations(variant: Variant, knownPrompts: readonly string[]): WordingDeviation[] {
  const spec = SPEC_TEXTS[variant.dialect];
  const texts = variantTexts(variant);
  const found: WordingDeviation[] = [];
  const add = (text: WordingDeviation['text'], specText: string, variantText: string) => {
    const requirement = REQUIREMENTS[variant.dialect][text];
    if (requirement === undefined || specText === variantText) return;
    found.push({
      requirement,
      text,
      spec: specText,
      variant: variantText,
      message: `${WHAT[text]} is "${variantText}" instead of the spec's "${specText}" (a wording variant: judged as the variant's text)`,
    });
  };
  if (variant.dialect === 'nick' && variant.prompt !== undefined && !knownPrompts.includes(variant.prompt)) {
    add('prompt', 'NICK', variant.prompt);
  }
  if (variant.dialect === 'nick') add('welcome', spec.welcome, texts.welcome);
  add('joined', spec.joined, texts.joined);
  add('left', spec.left, texts.left);
  add('encoding', SPEC_ENCODING[variant.dialect], variant.encoding ?? SPEC_ENCODING[variant.dialect]);
  return found;
}
