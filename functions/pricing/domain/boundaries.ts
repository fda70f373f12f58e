import type { PricingPlan } from './pricing-plan.ts';
import { dayOfWall, instantsAtWallTime, MS_PER_DAY, MS_PER_MINUTE, transitionsBetween, wallTime } from '../../shared/time-zone.ts';

const perDay = new WeakMap<PricingPlan, Map<string, number[]>>();

/** Instants on local day `day` at which one of the plan's times of day (or midnight) is reached. */
function dayBoundaries(plan: PricingPlan, timeZone: string, day: number): number[] {
  let cache = perDay.get(plan);
  if (!cache) {
    cache = new Map();
    perDay.set(plan, cache);
  }
  const key = `${timeZone}|${day}`;
  let instants = cache.get(key);
  if (!instants) {
    instants = [];
    for (const minute of plan.boundaryMinutes) instants.push(...instantsAtWallTime(timeZone, day * MS_PER_DAY + minute * MS_PER_MINUTE));
    cache.set(key, instants);
  }
  return instants;
}

/**
 * Every instant strictly inside (startMs, endMs) at which the plan's time-based restrictions can
 * change: local times of day named by start_time / end_time, local midnight (day_of_week and date
 * restrictions), DST transitions (the wall clock jumps), and session start + min/max_duration.
 * Sorted, without duplicates. Energy thresholds (min_kwh / max_kwh) depend on the meter, not the
 * clock, and are placed by the caller.
 */
export function timeBoundaries(plan: PricingPlan, timeZone: string, sessionStartMs: number, startMs: number, endMs: number): number[] {
  const result: number[] = [];
  for (const threshold of plan.durationThresholdsMs) {
    const at = sessionStartMs + threshold;
    if (at > startMs && at < endMs) result.push(at);
  }
  if (plan.usesWallTime) {
    const firstDay = dayOfWall(wallTime(timeZone, startMs)) - 1;
    const lastDay = dayOfWall(wallTime(timeZone, endMs)) + 1;
    for (let day = firstDay; day <= lastDay; day++) {
      for (const at of dayBoundaries(plan, timeZone, day)) if (at > startMs && at < endMs) result.push(at);
    }
    for (const at of transitionsBetween(timeZone, startMs + 1, endMs)) result.push(at);
  }
  result.sort((a, b) => a - b);
  let kept = 0;
  for (let i = 0; i < result.length; i++) if (i === 0 || result[i] !== result[kept - 1]) result[kept++] = result[i]!;
  result.length = kept;
  return result;
}
