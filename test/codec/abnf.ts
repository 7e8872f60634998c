/**
 * A small ABNF (RFC 5234, with RFC 7405's `%s"..."`) parser and matcher over octets, for checking the
 * grammar of spec/PROTOCOL.md Annex D against the vectors.
 *
 * Hand-written on purpose: the npm `abnf` package parses ABNF but matches nothing itself (it emits
 * peggy grammars, which match JavaScript strings, not octets), and `apg-lite` needs a grammar
 * compiled ahead of time by `apg-js`. What we need is one question, "do these octets match rule R?",
 * over a grammar of a few dozen rules: a parser for the RFC 5234 subset Annex D uses (alternation,
 * concatenation, repetition, groups, options, num-vals with ranges and dots, quoted strings) and a
 * backtracking matcher that returns every end position, so `user " added to the chat"` works even
 * though `user` could also swallow the spaces.
 */

/** A parsed ABNF element. */
export type AbnfNode =
  | { readonly kind: 'alt'; readonly items: readonly AbnfNode[] }
  | { readonly kind: 'cat'; readonly items: readonly AbnfNode[] }
  | { readonly kind: 'rep'; readonly min: number; readonly max: number; readonly item: AbnfNode }
  | { readonly kind: 'rule'; readonly name: string }
  | { readonly kind: 'range'; readonly lo: number; readonly hi: number }
  | { readonly kind: 'bytes'; readonly bytes: readonly number[]; readonly caseless: boolean };

/** Rule names are case-insensitive (RFC 5234 §2.1): keys are lower-cased. */
export type AbnfGrammar = Map<string, AbnfNode>;

/** Thrown for grammar text this subset cannot parse, with the offending text. */
export class AbnfSyntaxError extends Error {}

/** Parses rule definitions (`name = elements`, `name =/ elements`, continuation lines, `;` comments). */
export function parseAbnf(text: string): AbnfGrammar {
  const grammar: AbnfGrammar = new Map();
  const logical: string[] = [];
  for (const raw of text.split('\n')) {
    const line = stripComment(raw).replace(/\s+$/, '');
    if (line.trim() === '') continue;
    if (/^\s/.test(line) && logical.length > 0) logical[logical.length - 1] += ` ${line.trim()}`;
    else logical.push(line);
  }
  for (const def of logical) {
    const m = /^([A-Za-z][A-Za-z0-9-]*)\s*(=\/|=)\s*(.*)$/.exec(def);
    if (!m) throw new AbnfSyntaxError(`not a rule: ${def}`);
    const name = m[1]!.toLowerCase();
    const node = new Parser(m[3]!).parseAll();
    const previous = grammar.get(name);
    grammar.set(name, m[2] === '=/' && previous ? { kind: 'alt', items: [previous, node] } : node);
  }
  return grammar;
}

/** Removes a `;` comment, but not a `;` inside a quoted string. */
function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === ';' && !quoted) return line.slice(0, i);
  }
  return line;
}

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parseAll(): AbnfNode {
    const node = this.alternation();
    this.skip();
    if (this.pos !== this.src.length) throw new AbnfSyntaxError(`unexpected "${this.src.slice(this.pos)}"`);
    return node;
  }

  private skip(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  private alternation(): AbnfNode {
    const items = [this.concatenation()];
    for (this.skip(); this.src[this.pos] === '/'; this.skip()) {
      this.pos++;
      items.push(this.concatenation());
    }
    return items.length === 1 ? items[0]! : { kind: 'alt', items };
  }

  private concatenation(): AbnfNode {
    const items: AbnfNode[] = [];
    for (;;) {
      this.skip();
      const c = this.src[this.pos];
      if (c === undefined || c === '/' || c === ')' || c === ']') break;
      items.push(this.repetition());
    }
    if (items.length === 0) throw new AbnfSyntaxError(`empty concatenation at ${this.pos}`);
    return items.length === 1 ? items[0]! : { kind: 'cat', items };
  }

  private repetition(): AbnfNode {
    const m = /^(\d*)(\*?)(\d*)/.exec(this.src.slice(this.pos))!;
    this.pos += m[0].length;
    const item = this.element();
    if (m[0] === '') return item;
    if (m[2] === '') return { kind: 'rep', min: Number(m[1]), max: Number(m[1]), item };
    return { kind: 'rep', min: m[1] ? Number(m[1]) : 0, max: m[3] ? Number(m[3]) : Infinity, item };
  }

  private element(): AbnfNode {
    const rest = this.src.slice(this.pos);
    const c = rest[0];
    if (c === '(' || c === '[') {
      this.pos++;
      const inner = this.alternation();
      this.skip();
      const close = c === '(' ? ')' : ']';
      if (this.src[this.pos] !== close) throw new AbnfSyntaxError(`missing ${close} at ${this.pos}`);
      this.pos++;
      return c === '(' ? inner : { kind: 'rep', min: 0, max: 1, item: inner };
    }
    const str = /^(%[si])?"([^"]*)"/.exec(rest);
    if (str) {
      this.pos += str[0].length;
      // A plain quoted string is case-insensitive (RFC 5234 §2.3); %s makes it case-sensitive (RFC 7405).
      const bytes = [...Buffer.from(str[2]!, 'latin1')];
      return { kind: 'bytes', bytes, caseless: str[1] !== '%s' };
    }
    const num = /^%([xdb])([0-9A-Fa-f]+)(?:-([0-9A-Fa-f]+)|((?:\.[0-9A-Fa-f]+)+))?/.exec(rest);
    if (num) {
      this.pos += num[0].length;
      const radix = { x: 16, d: 10, b: 2 }[num[1] as 'x' | 'd' | 'b'];
      const first = parseInt(num[2]!, radix);
      if (num[3] !== undefined) return { kind: 'range', lo: first, hi: parseInt(num[3], radix) };
      const more = num[4] ? num[4].slice(1).split('.').map((v) => parseInt(v, radix)) : [];
      return { kind: 'bytes', bytes: [first, ...more], caseless: false };
    }
    const name = /^[A-Za-z][A-Za-z0-9-]*/.exec(rest);
    if (name) {
      this.pos += name[0].length;
      return { kind: 'rule', name: name[0].toLowerCase() };
    }
    throw new AbnfSyntaxError(`unexpected "${rest}"`);
  }
}

const lower = (b: number) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b);

/** Every rule name an element refers to, so a test can check the grammar has no undefined rule. */
export function referencedRules(node: AbnfNode, into = new Set<string>()): Set<string> {
  if (node.kind === 'rule') into.add(node.name);
  else if (node.kind === 'alt' || node.kind === 'cat') for (const item of node.items) referencedRules(item, into);
  else if (node.kind === 'rep') referencedRules(node.item, into);
  return into;
}

/**
 * Whether `input`, whole, matches `rule`. `overrides` replace rules for this one match (a vector
 * that configures a prompt token other than the grammar's generic `token`).
 */
export function matchesRule(
  grammar: AbnfGrammar,
  rule: string,
  input: Uint8Array,
  overrides: ReadonlyMap<string, AbnfNode> = new Map(),
): boolean {
  const lookup = (name: string): AbnfNode => {
    const node = overrides.get(name) ?? grammar.get(name);
    if (!node) throw new AbnfSyntaxError(`undefined rule ${name}`);
    return node;
  };
  // Every end offset reachable by matching `node` from `start`: full backtracking, deduplicated.
  const ends = (node: AbnfNode, start: number): Set<number> => {
    switch (node.kind) {
      case 'range': {
        const b = input[start];
        return b !== undefined && b >= node.lo && b <= node.hi ? new Set([start + 1]) : new Set();
      }
      case 'bytes': {
        if (start + node.bytes.length > input.length) return new Set();
        for (let i = 0; i < node.bytes.length; i++) {
          const b = input[start + i]!;
          const want = node.bytes[i]!;
          if (node.caseless ? lower(b) !== lower(want) : b !== want) return new Set();
        }
        return new Set([start + node.bytes.length]);
      }
      case 'rule':
        return ends(lookup(node.name), start);
      case 'alt': {
        const out = new Set<number>();
        for (const item of node.items) for (const e of ends(item, start)) out.add(e);
        return out;
      }
      case 'cat': {
        let frontier = new Set([start]);
        for (const item of node.items) {
          const next = new Set<number>();
          for (const p of frontier) for (const e of ends(item, p)) next.add(e);
          frontier = next;
          if (frontier.size === 0) break;
        }
        return frontier;
      }
      case 'rep': {
        const out = new Set<number>();
        let frontier = new Set([start]);
        // Positions already reached with at least `min` repetitions: reaching one again adds nothing.
        const seen = new Set<number>();
        if (node.min === 0) {
          out.add(start);
          seen.add(start);
        }
        for (let count = 1; count <= node.max && frontier.size > 0; count++) {
          const next = new Set<number>();
          for (const p of frontier) {
            for (const e of ends(node.item, p)) {
              // An empty match would loop; a position already accepted adds nothing new.
              if (count > node.min && seen.has(e)) continue;
              next.add(e);
            }
          }
          if (count >= node.min) {
            for (const e of next) {
              seen.add(e);
              out.add(e);
            }
          }
          frontier = next;
        }
        return out;
      }
    }
  };
  return ends(lookup(rule.toLowerCase()), 0).has(input.length);
}
