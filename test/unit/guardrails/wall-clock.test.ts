import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Product code takes "now" only from the injected Clock (functions/shared/clock.ts), so a test
 * with a fixed clock controls every timestamp the product writes. This scans the product's
 * sources for wall-clock reads; the few that are allowed say why.
 */
const ROOT = join(import.meta.dirname, '..', '..', '..');
const PRODUCT_DIRS = ['functions', 'events', 'lib', 'bin'];

/** file -> why it may read the wall clock. */
const ALLOWED: Record<string, string> = {
  'functions/shared/clock.ts': 'systemClock: the one place production reads the wall clock',
  'bin/commands/bench.ts': 'a benchmark report is dated with when it ran',
  'bin/bench/entitlements-bench.ts': "a benchmark's webhook event ids are unique per run",
  'bin/bench/load-bench.ts': "the server's CPU is sampled against real time",
  'bin/bench/ocpp-bench.ts': "a benchmark's charge points are registered now and its sessions placed in the real past (no timestamp in the future)",
  'bin/simulator/simulation.ts': "the simulator is a charge point: its own clock is the charge point's, not the product's",
  'bin/simulator/load-simulation.ts': "the simulator's load mode is 1,000 charge points: their clock is theirs, not the product's",
};

/** Reads of the current time: `Date.now()`, `new Date()` with no argument, `performance.timeOrigin`. */
const WALL_CLOCK = /\bDate\.now\s*\(|\bnew Date\s*\(\s*\)|performance\.timeOrigin/;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|mjs|js)$/.test(entry.name))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

function wallClockReads(file: string, text: string): string[] {
  return text
    .split('\n')
    .map((line, index) => ({ line, index }))
    .filter(({ line }) => !/^\s*(\/\/|\*)/.test(line) && WALL_CLOCK.test(line))
    .map(({ line, index }) => `${file}:${index + 1}: ${line.trim()}`);
}

describe('product code reads "now" only from the injected clock', () => {
  it('no wall-clock read outside the allowed files', () => {
    const found = PRODUCT_DIRS.flatMap(sources)
      .filter((file) => !(file in ALLOWED))
      .flatMap((file) => wallClockReads(file, readFileSync(join(ROOT, file), 'utf8')));
    expect(found).toEqual([]);
  });

  it('the scan finds each form of wall-clock read (so the check above can fail)', () => {
    expect(wallClockReads('x.ts', 'const t = Date.now();')).toHaveLength(1);
    expect(wallClockReads('x.ts', 'const d = new Date();')).toHaveLength(1);
    expect(wallClockReads('x.ts', 'const d = new Date( );')).toHaveLength(1);
    expect(wallClockReads('x.ts', 'const o = performance.timeOrigin;')).toHaveLength(1);
    expect(wallClockReads('x.ts', 'const d = new Date(Date.parse(s));')).toHaveLength(0);
    expect(wallClockReads('x.ts', 'const d = new Date(clock.now());')).toHaveLength(0);
    expect(wallClockReads('x.ts', '// Date.now() in a comment')).toHaveLength(0);
  });

  it('every allowed file exists and still needs its allowance', () => {
    for (const file of Object.keys(ALLOWED)) {
      expect(wallClockReads(file, readFileSync(join(ROOT, file), 'utf8')), file).not.toEqual([]);
    }
  });
});
