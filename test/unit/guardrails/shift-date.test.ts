import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The preload scripts/test-dates.sh runs the suite under: it must really move the wall clock. */
const PRELOAD = join(import.meta.dirname, '..', '..', 'support', 'shift-date.mjs');

function run(script: string, env: Record<string, string>): string[] {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VOLTLEDGER_SHIFT_') && k !== 'NODE_OPTIONS'));
  return execFileSync(process.execPath, ['-e', script], { env: { ...clean, ...env, NODE_OPTIONS: `--import=${PRELOAD}` }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n');
}

describe('shift-date preload', () => {
  it('starts Date.now() and new Date() at the requested instant, in the process and in its children', () => {
    const [now, constructed, child, fromValue, parsed] = run(
      `const { execFileSync } = require('node:child_process');
       console.log(Date.now());
       console.log(new Date().toISOString());
       console.log(execFileSync(process.execPath, ['-e', 'console.log(Date.now())'], { encoding: 'utf8' }).trim());
       console.log(new Date(0).toISOString());
       console.log(Date.parse('2020-01-01T00:00:00Z'));`,
      { VOLTLEDGER_SHIFT_DATE: '2028-02-29T23:59:57Z' },
    );
    const target = Date.parse('2028-02-29T23:59:57Z');
    expect(Number(now) - target).toBeGreaterThanOrEqual(0);
    expect(Number(now) - target).toBeLessThan(2_000);
    expect(constructed!.slice(0, 10)).toBe('2028-02-29');
    // The child shares the parent's timeline: it starts where the parent's clock is, not anew.
    expect(Number(child) - Number(now)).toBeGreaterThanOrEqual(0);
    expect(Number(child) - target).toBeLessThan(10_000);
    expect(fromValue).toBe('1970-01-01T00:00:00.000Z');
    expect(parsed).toBe(String(Date.parse('2020-01-01T00:00:00Z')));
  });

  it('keeps instanceof, subclasses and Date() as a function working', () => {
    const [instance, subclass, called] = run(
      `class Stamp extends Date {}
       console.log(new Date() instanceof Date);
       console.log(new Stamp() instanceof Stamp && new Stamp().getUTCFullYear());
       console.log(Date().includes('2027'));`,
      { VOLTLEDGER_SHIFT_DATE: '2027-03-28T00:59:57Z' },
    );
    expect([instance, subclass, called]).toEqual(['true', '2027', 'true']);
  });

  it('refuses an instant it cannot read', () => {
    expect(() => run('1', { VOLTLEDGER_SHIFT_DATE: 'the end of February' })).toThrow(/not an instant/);
  });
});
