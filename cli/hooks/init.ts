/**
 * oclif `init` hook: the package is `@chatkit-dev/cli` (the npm name `chatkit` belongs to an
 * unrelated package), but the program calls itself chatkit: `chatkit --version` and the help's
 * VERSION line say `chatkit/<version> …`, as they did before the package got its scoped name.
 */
import type { Hook } from '@oclif/core';

const hook: Hook.Init = async function () {
  const config = this.config as { userAgent: string; name: string; bin: string };
  config.userAgent = config.userAgent.replace(`${config.name}/`, `${config.bin}/`);
};

export default hook;
