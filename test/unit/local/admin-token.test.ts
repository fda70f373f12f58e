import { describe, expect, it, vi } from 'vitest';
import { run as fleetCli } from '../../../bin/commands/fleet.ts';
import { newAdminToken } from '../../../lib/local/stack.ts';

describe('the local stack admin token', () => {
  it('never starts with a dash, so the CLI reads it as the value of --admin-token', () => {
    const tokens = Array.from({ length: 2000 }, newAdminToken);
    expect(tokens.filter((t) => t.startsWith('-'))).toEqual([]);
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const t of tokens.slice(0, 5)) expect(t).toMatch(/^vladm_[A-Za-z0-9_-]{24}$/);
  });

  it('a bare token starting with a dash was refused by the CLI as an ambiguous option (why the prefix)', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
    try {
      expect(await fleetCli(['statements', '--account', 'ACME', '--admin-url', 'http://127.0.0.1:9', '--admin-token', '-abc'])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(errors.join('')).toMatch(/ambiguous/);
  });
});
