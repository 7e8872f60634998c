import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';

describe('the public API (src/index.ts)', () => {
  it('offers the codec, the errors, the limits, the reference server and the client library', () => {
    for (const name of ['createDecoder', 'encode', 'isPromptToken', 'ChatkitError', 'ERROR_CODES', 'SERVER_MAX_CLIENTS', 'CLIENT_WAIT_TIMEOUT_MS', 'startServer', 'connect', 'formatForDisplay'])
      expect(api, name).toHaveProperty(name);
  });

  it('keeps the terminal program and the server internals out of it', () => {
    for (const name of ['runTerminalClient', 'TERMINAL_EXIT_CODES', 'Fanout', 'Outbox', 'Room', 'dialectAdapter'])
      expect(api, name).not.toHaveProperty(name);
  });
});
