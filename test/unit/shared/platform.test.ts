import { describe, expect, it } from 'vitest';
import { perPlatform, type Platform } from '../../../functions/shared/platform.ts';

const platform = () => ({}) as Platform;

describe('perPlatform: one composition per platform', () => {
  it('builds once per platform, with the first caller’s overrides, and separately for another platform', () => {
    let builds = 0;
    const compose = perPlatform((_p: Platform, overrides: { n?: number } = {}) => ({ build: ++builds, n: overrides.n ?? 0 }));
    const a = platform();
    const first = compose(a, { n: 7 });
    expect(compose(a)).toBe(first);
    expect(first).toEqual({ build: 1, n: 7 });
    expect(compose(platform())).toEqual({ build: 2, n: 0 });
  });

  it('refuses overrides once the context is composed for that platform, instead of ignoring them', () => {
    const compose = perPlatform((_p: Platform, overrides: { n?: number } = {}) => ({ n: overrides.n ?? 0 }));
    const a = platform();
    compose(a, { n: 1 });
    expect(compose(a)).toEqual({ n: 1 });
    expect(() => compose(a, { n: 2 })).toThrow(/already composed/);
  });

  it('forgets a composition whose promise rejected, so the next invocation tries again', async () => {
    let attempts = 0;
    const compose = perPlatform(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('secrets extension not ready');
      return { attempt: attempts };
    });
    const a = platform();
    await expect(compose(a)).rejects.toThrow('secrets extension not ready');
    await expect(compose(a)).resolves.toEqual({ attempt: 2 });
    await expect(compose(a)).resolves.toEqual({ attempt: 2 });
    expect(attempts).toBe(2);
  });
});
