/**
 * EXT-1 on the checker's side: the extension profiles' cases never run by default, each extension
 * case cites only requirements of its profile's section, and an admin case without the password is
 * skipped with the reason instead of failing the target.
 */
import { describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import { bindExtensionOptions } from '../../conformance/extensions/options.js';
import { EXTENSION_PROFILES } from '../../conformance/harness/case.js';
import { CaseSkip } from '../../conformance/harness/case.js';
import { DEFAULT_SERVER_PROFILES, selectCases } from '../../conformance/harness/select.js';

const extensionCases = ALL_CASES.filter((c) => (EXTENSION_PROFILES as readonly string[]).includes(c.profile));

describe('extension profiles in the suite (spec §14)', () => {
  it('has cases for each profile, none of them in a default run', () => {
    for (const p of EXTENSION_PROFILES) expect(extensionCases.some((c) => c.profile === p), p).toBe(true);
    for (const dialect of ['nick', 'tilde'] as const) {
      const run = selectCases(ALL_CASES, { dialect, kind: 'server', profiles: DEFAULT_SERVER_PROFILES });
      expect(run.filter((c) => extensionCases.includes(c))).toEqual([]);
    }
  });

  it("cites its own profile's requirements (or EXT-2), in the NICK dialect", () => {
    const prefix = { admin: 'ADMIN-', commands: 'CMD-', rooms: 'ROOM-' } as const;
    for (const c of extensionCases) {
      expect(c.dialect).toBe('nick');
      const own = prefix[c.profile as keyof typeof prefix];
      for (const id of c.requirements) expect(id === 'EXT-2' || id.startsWith(own), `${c.id} cites ${id}`).toBe(true);
    }
  });

  it('skips an admin case run without the password, and binds it when given', async () => {
    const unbound = ALL_CASES.find((c) => c.id === 'admin.pass.asks')!;
    const context = { skip: (reason: string) => { throw new CaseSkip(reason); } };
    await expect(unbound.run(context as never)).rejects.toThrow(/--admin-password/);
    const bound = bindExtensionOptions(ALL_CASES, { adminPassword: 'p' }).find((c) => c.id === 'admin.pass.asks')!;
    expect(bound).not.toBe(unbound);
    expect(bound.id).toBe(unbound.id);
    expect(bindExtensionOptions(ALL_CASES, { adminPassword: 'p' }).find((c) => c.id === 'nick.relay.echo')).toBe(
      ALL_CASES.find((c) => c.id === 'nick.relay.echo'),
    );
  });
});
