/**
 * The base of chatkit's commands: usage mistakes end in ONE line on stderr and exit code 2,
 * instead of oclif's default of the error followed by the whole help text.
 *
 * @module
 */
import { Command } from '@oclif/core';
import { EXIT_USAGE } from './flags.js';
import { drainStdio, quietOnClosedReader } from './stdio.js';

/** A chatkit command. */
export abstract class ChatkitCommand extends Command {
  protected override async init(): Promise<void> {
    await super.init();
    quietOnClosedReader(process.stdout);
    quietOnClosedReader(process.stderr);
  }

  /**
   * Every way out (a return, `this.exit`, `fail`, an error) passes here before oclif calls
   * `process.exit`: wait until stdout and stderr are written out, or a piped report is cut short.
   */
  protected override async finally(error: Error | undefined): Promise<void> {
    await drainStdio();
    return super.finally(error);
  }

  protected override async catch(
    error: Error & { exitCode?: number; parse?: unknown; oclif?: { exit?: number } },
  ) {
    if ((error as { code?: string }).code === 'EEXIT') {
      // Our own this.exit(): with --json, oclif would print the exit as an error document on stdout
      // and exit 1; the line on stderr has said it all, and the exit code is the one asked for.
      if (this.jsonEnabled()) throw error;
      return super.catch(error);
    }
    const usage =
      error.parse !== undefined || error.oclif?.exit === EXIT_USAGE || /^Parsing --/.test(error.message);
    if (usage) {
      // oclif's messages span lines ("Parsing --port\n\tExpected ..."): fold them into one.
      const line = error.message
        .split('\n')
        .map((part) => part.trim())
        .filter((part) => part !== '' && !part.startsWith('See more help'))
        .join(': ');
      process.stderr.write(`chatkit ${this.id ?? ''}: ${line} (see --help)\n`);
      return this.exit(EXIT_USAGE);
    }
    return super.catch(error);
  }

  /** Ends the command with one line on stderr, `chatkit <command>: error <CODE>: <message>`. */
  protected fail(code: string, message: string, exit: number): never {
    process.stderr.write(`chatkit ${this.id ?? ''}: error ${code}: ${message}\n`);
    return this.exit(exit);
  }
}
