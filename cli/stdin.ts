/**
 * Reading the nickname the way the seeds' clients do: from the first line of standard input.
 *
 * @module
 */
import { PassThrough, type Readable } from 'node:stream';

/** Most bytes read while looking for the first line, so a newline-less flood cannot grow memory. */
export const FIRST_LINE_MAX_BYTES = 4_096;

/**
 * Splits off the first line of `input` (without its LF or CRLF). The rest of the input, unread,
 * continues in `rest`. `first` is undefined when the input ends (or passes the bound) first.
 */
export function splitFirstLine(input: Readable): Promise<{ first: string | undefined; rest: Readable }> {
  return new Promise((resolve) => {
    const rest = new PassThrough();
    let held = Buffer.alloc(0);
    const finish = (first: string | undefined, remainder: Buffer) => {
      input.off('data', onData);
      input.off('end', onEnd);
      if (remainder.length > 0) rest.write(remainder);
      input.pipe(rest);
      resolve({ first, rest });
    };
    const onData = (chunk: Buffer) => {
      held = Buffer.concat([held, chunk]);
      const lf = held.indexOf(0x0a);
      if (lf !== -1) finish(held.subarray(0, lf).toString('utf8').replace(/\r$/, ''), held.subarray(lf + 1));
      else if (held.length > FIRST_LINE_MAX_BYTES) finish(undefined, Buffer.alloc(0));
    };
    const onEnd = () => {
      rest.end();
      input.off('data', onData);
      resolve({ first: held.length > 0 ? held.toString('utf8').replace(/\r?\n?$/, '') : undefined, rest });
    };
    input.on('data', onData);
    input.once('end', onEnd);
  });
}
