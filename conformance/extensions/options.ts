/**
 * What the extension profiles' cases need beyond the target's address (spec §14): the admin password
 * (`chatkit conform --admin-password`). A case that needs it is bound to it when the run is set up
 * ({@link bindExtensionOptions}), so the runner and the case context stay as they are.
 *
 * @module
 */
import type { ConformanceCase, ServerCase } from '../harness/case.js';
import type { ServerCaseContext } from '../harness/context.js';

/** The options the extension cases read. */
export interface ExtensionOptions {
  /** The target's admin password (ADMIN-PASS-1); the admin profile cannot be judged without it. */
  readonly adminPassword?: string | undefined;
}

/** A case that needs the extension options: run unbound it is skipped with the reason. */
export interface OptionCase extends ServerCase {
  /** The same case with the options bound. */
  withOptions(options: ExtensionOptions): ServerCase;
}

/** Builds a case whose run needs the admin password. */
export function needingPassword(
  def: Omit<ServerCase, 'run'> & { run(t: ServerCaseContext, password: string): Promise<void> },
): OptionCase {
  const { run, ...meta } = def;
  const bound = (password: string | undefined): ServerCase => ({
    ...meta,
    async run(t) {
      if (password === undefined) return t.skip("the admin profile needs the target's admin password: --admin-password P");
      return run(t, password);
    },
  });
  return { ...bound(undefined), withOptions: (o) => bound(o.adminPassword) };
}

/** The cases with the extension options bound where a case needs them. */
export function bindExtensionOptions(
  cases: readonly ConformanceCase[],
  options: ExtensionOptions,
): ConformanceCase[] {
  return cases.map((c) => ('withOptions' in c && typeof c.withOptions === 'function' ? c.withOptions(options) : c));
}
