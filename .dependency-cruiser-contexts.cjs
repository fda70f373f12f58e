/**
 * No cycles between contexts: the folders under functions/ (functions/payments, functions/entitlements,
 * ..., and their domain/ and adapters/ folders) and events/ must form an acyclic graph, even where no
 * single module is in a cycle (payments -> entitlements -> payments through different files).
 *
 * A separate run from .dependency-cruiser.cjs because dependency-cruiser's folder rules cannot yet say
 * "only via these folders": cruising bin/, lib/ and test/ too would report every context as being in a
 * cycle through lib/ (lib/local/stack.ts wires all contexts; the contexts read lib/tables.ts). Cruised
 * from functions/ and events/ only, lib/ contributes just lib/tables.ts, which imports nothing.
 *
 * Checked by `npm run lint:deps`; known violations share .dependency-cruiser-known-violations.json.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
const { options } = require('./.dependency-cruiser.cjs');

module.exports = {
  forbidden: [
    {
      name: 'no-circular-contexts',
      severity: 'error',
      comment: 'No cycles between the folders of functions/ and events/ (a context depends on another, or the other on it: not both).',
      scope: 'folder',
      from: { path: '^(functions|events)(/|$)' },
      to: { path: '^(functions|events)(/|$)', circular: true },
    },
  ],
  options,
};
