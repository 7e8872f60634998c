/**
 * Reads the requirement definitions out of `spec/PROTOCOL.md`. Each is one paragraph of the form
 * `**ID** (LEVEL) — text` (spec/README.md, "Requirement IDs"); the conformance suite quotes `text`
 * in its failure reports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** One requirement of the spec. */
export interface Requirement {
  readonly id: string;
  readonly level: 'MUST' | 'SHOULD' | 'MAY' | 'INFO';
  readonly text: string;
  /** The number of the section it stands in, e.g. `4.3`. */
  readonly section: string;
}

const DEFINITION = /^\*\*([A-Z]+(?:-[A-Z0-9]+)+)\*\* \((MUST|SHOULD|MAY|INFO)\) — (.+)$/;
const HEADING = /^#{2,4} (\d+(?:\.\d+)*)\.? /;

/** Parses the requirement definitions of a PROTOCOL.md text. */
export function parseRequirements(markdown: string): Requirement[] {
  const out: Requirement[] = [];
  let section = '';
  for (const line of markdown.split('\n')) {
    const heading = HEADING.exec(line);
    if (heading) section = heading[1]!;
    const m = DEFINITION.exec(line.trim());
    if (m) out.push({ id: m[1]!, level: m[2] as Requirement['level'], text: m[3]!.trim(), section });
  }
  return out;
}

/** Reads and parses a PROTOCOL.md file. */
export function readRequirements(path: string): Requirement[] {
  return parseRequirements(readFileSync(path, 'utf8'));
}

let index: Map<string, Requirement> | undefined;

/** Every requirement of chatkit's own spec/PROTOCOL.md by ID (read once). */
export function requirementIndex(): ReadonlyMap<string, Requirement> {
  index ??= new Map(readRequirements(join(PACKAGE_ROOT, 'spec/PROTOCOL.md')).map((r) => [r.id, r]));
  return index;
}
