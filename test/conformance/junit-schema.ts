/**
 * A structural checker for JUnit XML, after the schema CI servers read (Jenkins' junit-10.xsd, the
 * Ant/Maven formatters' shape): a real XML parser (fast-xml-parser) checks well-formedness, then
 * this walks the tree and checks elements, their order, attributes (allowed, required, numeric
 * formats) and that the counts on `<testsuite>` match its test cases. Returns the issues found.
 *
 * The content models checked (XSD sequences, `?` = minOccurs 0, `*` = unbounded):
 *   testsuites: testsuite*                                      @name @time @tests @failures @errors @disabled
 *   testsuite:  properties? testcase* system-out? system-err?   @name! @tests! @failures @errors @skipped
 *                                                               @disabled @time @timestamp @hostname @id @package
 *   properties: property*;  property: (empty)                   @name! @value!
 *   testcase:   skipped? error* failure* system-out* system-err* @name! @classname @time @assertions @status
 *   failure, error: text                                        @message @type
 *   skipped: text                                               @message
 *   system-out, system-err: text
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

type Node = Record<string, unknown> & { ':@'?: Record<string, string> };

interface ElementRule {
  /** Allowed children, in sequence order, with `?` (at most one) or `*`. */
  readonly children: readonly string[];
  readonly attributes: readonly string[];
  readonly required?: readonly string[];
  readonly text?: boolean;
}

const RULES: Readonly<Record<string, ElementRule>> = {
  testsuites: {
    children: ['testsuite*'],
    attributes: ['name', 'time', 'tests', 'failures', 'errors', 'disabled'],
  },
  testsuite: {
    children: ['properties?', 'testcase*', 'system-out?', 'system-err?'],
    attributes: [
      'name',
      'tests',
      'failures',
      'errors',
      'skipped',
      'disabled',
      'time',
      'timestamp',
      'hostname',
      'id',
      'package',
    ],
    required: ['name', 'tests'],
  },
  properties: { children: ['property*'], attributes: [] },
  property: { children: [], attributes: ['name', 'value'], required: ['name', 'value'] },
  testcase: {
    children: ['skipped?', 'error*', 'failure*', 'system-out*', 'system-err*'],
    attributes: ['name', 'classname', 'time', 'assertions', 'status'],
    required: ['name'],
  },
  failure: { children: [], attributes: ['message', 'type'], text: true },
  error: { children: [], attributes: ['message', 'type'], text: true },
  skipped: { children: [], attributes: ['message'], text: true },
  'system-out': { children: [], attributes: [], text: true },
  'system-err': { children: [], attributes: [], text: true },
};

const INTEGER = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/;
const NUMERIC: Readonly<Record<string, RegExp>> = {
  tests: INTEGER,
  failures: INTEGER,
  errors: INTEGER,
  skipped: INTEGER,
  disabled: INTEGER,
  assertions: INTEGER,
  time: DECIMAL,
  timestamp: TIMESTAMP,
};

const TEXT_KEYS = new Set(['#text', '__cdata']);

function nameOf(node: Node): string {
  return Object.keys(node).find((k) => k !== ':@')!;
}

/** The text of an element (text and CDATA children joined). */
export function textOf(node: Node): string {
  const children = node[nameOf(node)] as Node[];
  return children
    .map((c) => {
      if ('#text' in c) return String(c['#text']);
      if ('__cdata' in c) return (c.__cdata as Node[]).map((t) => String(t['#text'] ?? '')).join('');
      return '';
    })
    .join('');
}

/** Parses the document into fast-xml-parser's ordered tree. */
export function parseJunit(xml: string): Node[] {
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    cdataPropName: '__cdata',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    processEntities: true,
  });
  return parser.parse(xml) as Node[];
}

function checkElement(node: Node, path: string, issues: string[]): void {
  const name = nameOf(node);
  const rule = RULES[name];
  const here = `${path}/${name}`;
  if (!rule) {
    issues.push(`${here}: element not in the schema`);
    return;
  }
  const attributes = node[':@'] ?? {};
  for (const a of Object.keys(attributes)) {
    if (!rule.attributes.includes(a)) issues.push(`${here}: attribute @${a} not in the schema`);
    const format = NUMERIC[a];
    if (format && !format.test(attributes[a]!))
      issues.push(`${here}: @${a}="${attributes[a]}" is not ${format}`);
  }
  for (const a of rule.required ?? []) if (!(a in attributes)) issues.push(`${here}: missing required @${a}`);
  const children = (node[name] as Node[]).filter((c) => !TEXT_KEYS.has(nameOf(c)));
  const texts = (node[name] as Node[]).filter((c) => TEXT_KEYS.has(nameOf(c)));
  if (!rule.text && texts.some((t) => nameOf(t) === '__cdata' || String(t['#text']).trim() !== '')) {
    issues.push(`${here}: text where the schema allows none`);
  }
  // Match the children against the sequence.
  let step = 0;
  let countInStep = 0;
  for (const child of children) {
    const childName = nameOf(child);
    while (step < rule.children.length && rule.children[step]!.replace(/[?*]$/, '') !== childName) {
      step++;
      countInStep = 0;
    }
    if (step >= rule.children.length) {
      issues.push(
        `${here}: <${childName}> not allowed here (sequence: ${rule.children.join(' ') || 'empty'})`,
      );
      return;
    }
    countInStep++;
    if (rule.children[step]!.endsWith('?') && countInStep > 1)
      issues.push(`${here}: more than one <${childName}>`);
    checkElement(child, here, issues);
  }
}

/** Checks a JUnit XML document; an empty array means it fits the schema. */
export function checkJunit(xml: string): string[] {
  const valid = XMLValidator.validate(xml);
  if (valid !== true)
    return [`not well-formed XML: ${valid.err.code} ${valid.err.msg} (line ${valid.err.line})`];
  const issues: string[] = [];
  const roots = parseJunit(xml).filter((n) => nameOf(n) !== '?xml');
  if (roots.length !== 1 || nameOf(roots[0]!) !== 'testsuites')
    return ['the root element is not <testsuites>'];
  checkElement(roots[0]!, '', issues);
  // The counts on each testsuite agree with its test cases.
  for (const suite of (roots[0]!.testsuites as Node[]).filter((n) => nameOf(n) === 'testsuite')) {
    const cases = (suite.testsuite as Node[]).filter((n) => nameOf(n) === 'testcase');
    const withChild = (tag: string) =>
      cases.filter((c) => (c.testcase as Node[]).some((x) => nameOf(x) === tag)).length;
    const attrs = suite[':@'] ?? {};
    const expect = {
      tests: cases.length,
      failures: withChild('failure'),
      errors: withChild('error'),
      skipped: withChild('skipped'),
    };
    for (const [k, v] of Object.entries(expect)) {
      if (attrs[k] !== undefined && Number(attrs[k]) !== v)
        issues.push(`testsuite @${k}="${attrs[k]}" but ${v} found`);
    }
  }
  return issues;
}

/** The elements named `tag` anywhere below `nodes`, depth first. */
export function findAll(nodes: Node[], tag: string): Node[] {
  const out: Node[] = [];
  for (const n of nodes) {
    const name = nameOf(n);
    if (name === tag) out.push(n);
    if (!TEXT_KEYS.has(name) && Array.isArray(n[name])) out.push(...findAll(n[name] as Node[], tag));
  }
  return out;
}

/** An element's attributes. */
export function attrsOf(node: Node): Record<string, string> {
  return node[':@'] ?? {};
}
