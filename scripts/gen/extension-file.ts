/**
 * The schema of an extension profile file (`spec/dialects/extensions/*.yaml`, spec §14): messages an
 * optional profile adds to a dialect, checked with zod before anything is generated from it.
 */
import { z } from 'zod';
import { fieldDefinition } from './dialect-file.js';

const requirementId = z.string().regex(/^[A-Z]+(-[A-Z0-9]+)+$/, 'a requirement ID such as ADMIN-PASS-1');

/** One message of an extension: its template on the wire and where it may arrive. */
export const extensionMessage = z.strictObject({
  type: z.string().regex(/^[a-z][a-zA-Z]*$/),
  direction: z.enum(['toClient', 'toServer']),
  states: z.array(z.enum(['handshake', 'session'])).min(1),
  template: z.string().min(1),
  requirement: requirementId,
  description: z.string(),
});

/** A whole extension file. */
export const extensionFile = z.strictObject({
  extension: z.enum(['admin', 'commands', 'rooms']),
  dialect: z.literal('nick'),
  title: z.string(),
  section: z.string(),
  fields: z.record(z.string().regex(/^[a-z]+$/), fieldDefinition),
  messages: z.array(extensionMessage).min(1),
});

/** A parsed, checked extension file. */
export type ExtensionFile = z.infer<typeof extensionFile>;
