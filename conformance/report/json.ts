/**
 * `--reporter json`: the {@link RunReport} itself, validated against {@link runReportSchema} before
 * it is written, so a consumer never receives a document that breaks the documented schema
 * (`docs/conformance-report.md`).
 *
 * @module
 */
import { ChatkitError } from '../../src/errors.js';
import { REPORT_SCHEMA, type RunReport, runReportSchema } from '../harness/report.js';

/** Thrown when a report does not fit its own schema: a harness bug, never the target's fault. */
export class ReportSchemaError extends ChatkitError {
  /** Creates the error (code `REPORT_INVALID`) from zod's issues, summarised in one line. */
  constructor(issues: string) {
    super('REPORT_INVALID', `the report does not fit schema ${REPORT_SCHEMA}: ${issues}`);
    this.name = 'ReportSchemaError';
  }
}

/**
 * The report as its schema parses it (throws {@link ReportSchemaError}): what `--json` returns and
 * `--reporter json` writes, in the schema's key order.
 */
export function validReport(report: RunReport): RunReport {
  const parsed = runReportSchema.safeParse(report);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new ReportSchemaError(issues);
  }
  return parsed.data as RunReport;
}

/** Validates the report (throws {@link ReportSchemaError}) and returns it as indented JSON. */
export function renderJson(report: RunReport): string {
  return `${JSON.stringify(validReport(report), null, 2)}\n`;
}
