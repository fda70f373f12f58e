import { describe, expect, it } from 'vitest';
import { correctWithSkew, decideSessionTimes, judgeStatusTime, judgeTimestamp, measurementOf, parseOcppTimestamp } from '../../../functions/ocpp/domain/clock-skew.ts';
import { correctedSamples, isRetryOf, startClock, stopClock } from '../../../functions/ocpp/domain/clock-transactions.ts';
import { clockHold } from '../../../functions/pricing/domain/clock-guard.ts';

const R = '2026-11-23T10:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(R) + minutes * 60_000).toISOString();

describe('the charge point clock policy (docs/clocks.md)', () => {
  it('reads a leap second as 23:59:59.999 and flags it; an unreadable time is a FormationViolation, not an InternalError', () => {
    expect(parseOcppTimestamp('2016-12-31T23:59:60Z')).toEqual({ at: '2016-12-31T23:59:59.999Z', leapSecond: true });
    expect(parseOcppTimestamp('2016-12-31T23:59:60.5+00:00').leapSecond).toBe(true);
    expect(parseOcppTimestamp(R)).toEqual({ at: R, leapSecond: false });
    expect(() => parseOcppTimestamp('not a time')).toThrow(expect.objectContaining({ errorCode: 'FormationViolation' }));
  });

  it('in sync within the tolerance; never later than the receipt', () => {
    expect(judgeTimestamp(at(-0.5), R)).toMatchObject({ rule: 'in-sync', corrected: at(-0.5), implausible: false });
    expect(judgeTimestamp(at(0.5), R)).toMatchObject({ rule: 'in-sync', corrected: R });
  });

  it('a fast clock (ahead beyond the tolerance, up to 24 h) is corrected by the skew its message measured', () => {
    const judged = judgeTimestamp(at(180), R);
    expect(judged).toMatchObject({ rule: 'ahead-corrected', corrected: R, skewMs: 180 * 60_000, offsetMs: 180 * 60_000 });
    expect(measurementOf(judged, 'StartTransaction')).toMatchObject({ state: 'ahead', offsetMs: 180 * 60_000 });
    // Samples of the same message shift by the same skew.
    expect(correctWithSkew(at(170), judged.skewMs, R).at).toBe(at(-10));
    expect(correctedSamples([{ timestamp: at(170), sampledValue: [] }, { timestamp: at(180), sampledValue: [] }], 'MeterValues', R).map((s) => s.timestamp)).toEqual([at(-10), R]);
  });

  it('before 2010 or more than 24 h ahead is implausible: the receipt stands in, and a start holds the session for review', () => {
    expect(judgeTimestamp('1970-01-01T00:00:00Z', R)).toMatchObject({ rule: 'before-floor', corrected: R, implausible: true });
    expect(judgeTimestamp('2099-01-01T00:00:00Z', R)).toMatchObject({ rule: 'far-future', corrected: R, implausible: true });
    const start = startClock('2000-01-01T00:00:00Z', R);
    expect(start.startedAt).toBe(R);
    expect(start.clock.review).toMatch(/implausible/);
    expect(start.flags).toEqual(['clock:start-before-floor', 'clock:held-for-review']);
  });

  it('a status time in the future (or 2099) is clamped to its receipt, with a flag; a queued one stays', () => {
    expect(judgeStatusTime(at(180), R)).toMatchObject({ timestamp: R, flags: ['clock:status-ahead-corrected'] });
    expect(judgeStatusTime('2099-01-01T00:00:00Z', R)).toMatchObject({ timestamp: R, flags: ['clock:status-far-future'] });
    expect(judgeStatusTime(at(-30), R)).toMatchObject({ timestamp: at(-30), flags: [] });
    expect(judgeStatusTime(undefined, R)).toEqual({ timestamp: R, flags: [] });
  });

  it('a start stamped long before its receipt, with no reading in between and a live stop, is billed from the receipt', () => {
    const start = judgeTimestamp(at(-300), R);
    const stop = judgeTimestamp(at(15), at(15));
    expect(decideSessionTimes({ start, stop, sampleTimes: [at(5)] })).toMatchObject({ startedAt: R, stoppedAt: at(15), flags: ['clock:start-time-unverified'] });
    // A reading stamped in the gap: the charge point was metering offline; the start is kept.
    expect(decideSessionTimes({ start, stop, sampleTimes: [at(-200)] })).toMatchObject({ startedAt: at(-300), flags: [] });
    // A whole session queued offline (the stop is old too): trusted.
    const oldStop = judgeTimestamp(at(-280), R);
    expect(decideSessionTimes({ start, stop: oldStop, sampleTimes: [] })).toMatchObject({ startedAt: at(-300), stoppedAt: at(-280), flags: [] });
  });

  it('a stop before the start (a clock corrected backwards) takes both from their receive times', () => {
    const start = judgeTimestamp(at(30), at(30)); // in sync
    const stop = judgeTimestamp(at(10), at(60)); // delayed by 50 min: before the start
    expect(decideSessionTimes({ start, stop, sampleTimes: [] })).toMatchObject({ startedAt: at(30), stoppedAt: at(60), flags: ['clock:stop-before-start'] });
  });

  it('an implausible stop or an absurd duration holds the session for review', () => {
    const start = judgeTimestamp(at(0), R);
    expect(decideSessionTimes({ start, stop: judgeTimestamp('1999-01-01T00:00:00Z', at(60)), sampleTimes: [] }).review).toMatch(/StopTransaction timestamp 1999/);
    const longAgo = judgeTimestamp('2011-01-01T00:00:00Z', R);
    expect(decideSessionTimes({ start: longAgo, stop: judgeTimestamp('2011-02-01T00:00:00Z', R), sampleTimes: [] }).review).toMatch(/lasts 744 h/);
  });

  it('stopClock keeps the start judgement and adds the stop with notes', () => {
    const started = startClock(at(180), R);
    const result = stopClock({ startedAt: started.startedAt, createdAt: R, clock: started.clock, flags: started.flags }, judgeTimestamp(at(210), at(30)), []);
    expect(result).toMatchObject({ startedAt: R, stoppedAt: at(30), flags: ['clock:stop-ahead-corrected'] });
    expect(result.clock.notes.length).toBe(2);
  });

  it('a repeated start key is a retry only with the same meterStart while open (or within 10 min)', () => {
    expect(isRetryOf({ meterStartWh: 100, state: 'started', createdAt: at(-600) }, 100, R)).toBe(true);
    expect(isRetryOf({ meterStartWh: 100, state: 'completed', createdAt: at(-5) }, 100, R)).toBe(true);
    expect(isRetryOf({ meterStartWh: 100, state: 'completed', createdAt: at(-600) }, 100, R)).toBe(false);
    expect(isRetryOf({ meterStartWh: 100, state: 'started', createdAt: at(-1) }, 5000, R)).toBe(false);
  });

  it('pricing refuses a held, inverted or absurdly long session instead of pricing it', () => {
    expect(clockHold({ startedAt: R, clock: { review: 'clock: held' } }, at(60))).toBe('clock: held');
    expect(clockHold({ startedAt: R }, at(-1))).toMatch(/before it starts/);
    expect(clockHold({ startedAt: '1970-01-01T00:00:00.000Z' }, R)).toMatch(/held for review/);
    expect(clockHold({ startedAt: R }, at(60))).toBeUndefined();
  });
});
