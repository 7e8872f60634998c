/**
 * Every conformance case, in report order: one module per spec section and dialect.
 *
 * @module
 */
import { NICK_CLIENT_CASES } from './client/nick.js';
import { TILDE_CLIENT_CASES } from './client/tilde.js';
import { ADMIN_CASES } from './extensions/admin.js';
import { COMMANDS_CASES } from './extensions/commands.js';
import { ROOMS_CASES } from './extensions/rooms.js';
import type { ConformanceCase } from './harness/case.js';
import { LINE_CASES } from './line/cases.js';
import { NICK_HANDSHAKE_CASES } from './nick/handshake.js';
import { NICK_LEAVE_CASES } from './nick/leave.js';
import { NICK_RELAY_CASES } from './nick/relay.js';
import { NICK_ROBUSTNESS_CASES } from './nick/robustness.js';
import { TILDE_CORE_CASES } from './tilde/core.js';
import { TILDE_LEAVE_CASES } from './tilde/leave.js';
import { TILDE_RELAY_CASES } from './tilde/relay.js';
import { TILDE_ROBUSTNESS_CASES } from './tilde/robustness.js';
import { TILDE_USERNAME_CASES } from './tilde/usernames.js';

/** The whole suite. */
export const ALL_CASES: readonly ConformanceCase[] = [
  ...NICK_HANDSHAKE_CASES,
  ...NICK_RELAY_CASES,
  ...NICK_LEAVE_CASES,
  ...NICK_ROBUSTNESS_CASES,
  ...NICK_CLIENT_CASES,
  ...TILDE_CORE_CASES,
  ...TILDE_USERNAME_CASES,
  ...TILDE_RELAY_CASES,
  ...TILDE_LEAVE_CASES,
  ...TILDE_ROBUSTNESS_CASES,
  ...TILDE_CLIENT_CASES,
  ...LINE_CASES,
  // The extension profiles (spec §14): selected only by --profile or a declaration's `extensions`.
  ...ADMIN_CASES,
  ...COMMANDS_CASES,
  ...ROOMS_CASES,
];
