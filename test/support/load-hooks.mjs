// Module hooks (run on Node's loader thread): append every resolved URL to $CHATKIT_LOAD_LOG.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.CHATKIT_LOAD_LOG) appendFileSync(process.env.CHATKIT_LOAD_LOG, `${result.url}\n`);
  return result;
}
