#!/usr/bin/env node
/**
 * The context-cycle check of `npm run lint:deps`: cruises functions/ and events/ with
 * .dependency-cruiser-contexts.cjs and fails on any cycle between their folders that is not in
 * .dependency-cruiser-known-violations.json.
 *
 * A script rather than `depcruise --ignore-known` because dependency-cruiser 17 applies known
 * violations to module-level rules only, not to folder-level ones (see the TODO in its
 * src/analyze/soften-known-violations.mjs): a known context cycle would fail the check forever.
 * Known entries match as dependency-cruiser matches cycles: same rule, same folders in the cycle.
 *
 *   node scripts/depcruise-contexts.mjs                  check
 *   node scripts/depcruise-contexts.mjs --add-to-baseline append today's context cycles to the baseline
 *                                                        (after `depcruise ... --output-type baseline`
 *                                                        rewrote it: see `npm run lint:deps:baseline`)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cruise } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const CONFIG = './.dependency-cruiser-contexts.cjs';
const KNOWN = '.dependency-cruiser-known-violations.json';
const SOURCES = ['functions', 'events'];

const options = await extractDepcruiseOptions(CONFIG);
const tsConfig = extractTSConfig(options.tsConfig.fileName);
const { output } = await cruise(SOURCES, { ...options, outputType: 'json' }, {}, { tsConfig });
const violations = JSON.parse(output).summary.violations.filter((v) => v.rule.severity === 'error' || v.rule.severity === 'warn');

const names = (cycle = []) => cycle.map((step) => step.name);
const sameViolation = (a, b) =>
  a.rule.name === b.rule.name &&
  (a.cycle && b.cycle ? a.cycle.length === b.cycle.length && names(a.cycle).every((name) => names(b.cycle).includes(name)) : a.from === b.from && a.to === b.to);

const known = JSON.parse(readFileSync(KNOWN, 'utf8'));

if (process.argv.includes('--add-to-baseline')) {
  const others = known.filter((k) => !violations.some((v) => v.rule.name === k.rule.name));
  writeFileSync(KNOWN, `${JSON.stringify([...others, ...violations], null, 2)}\n`);
  console.log(`${KNOWN}: ${violations.length} context cycles recorded`);
} else {
  const fresh = violations.filter((v) => !known.some((k) => sameViolation(k, v)));
  for (const v of fresh) {
    console.error(`  ${v.rule.severity} ${v.rule.name}: ${v.from} → ${names(v.cycle).join(' → ')}`);
  }
  const ignored = violations.length - fresh.length;
  if (fresh.length > 0) {
    console.error(`\nx ${fresh.length} new context cycles (${ignored} known ones ignored; see ${CONFIG}).`);
    process.exitCode = 1;
  } else {
    console.log(`✔ no new context cycles (${ignored} known ones ignored).`);
  }
}
