/**
 * Import rules between modules, checked by `npm run lint:deps` (depcruise bin lib functions events test).
 * Cycles between contexts (folders under functions/) are checked by .dependency-cruiser-contexts.cjs.
 *
 * Violations that exist today are listed in .dependency-cruiser-known-violations.json and are
 * ignored (--ignore-known) until the redesign removes them; any NEW violation fails the check.
 * After removing some, regenerate the list with `npm run lint:deps:baseline` (and review its diff:
 * it must only shrink).
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-imports-only-pure-code',
      severity: 'error',
      comment:
        "functions/<context>/domain/ is pure: it imports only its own context's domain/ (and that context's " +
        'JSON schemas), events/, the pure modules of functions/shared/ (errors, clock, log, metric-names, money, decimal, time-zone: ' +
        'no SDK, no environment), node builtins, and the pure npm libraries zod, ajv and ajv-formats. ' +
        "No adapters, no handlers, no other context's domain.",
      from: { path: '^functions/([^/]+)/domain/' },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: [
          '^functions/$1/domain/',
          '^functions/$1/schema/[^/]+[.]json$',
          '^events/',
          '^functions/shared/(errors|clock|log|metric-names|money|decimal|time-zone)[.]ts$',
          '^node_modules/(zod|ajv|ajv-formats)/',
        ],
      },
    },
    {
      name: 'no-other-context-adapters',
      severity: 'error',
      comment: "A context never imports another context's adapters/: it goes through that context's ports (domain/) or events.",
      from: { path: '^functions/([^/]+)/' },
      to: { path: '^functions/[^/]+/adapters/', pathNot: '^functions/$1/adapters/' },
    },
    {
      name: 'no-product-imports-test',
      severity: 'error',
      comment: 'Product code (bin/, lib/, functions/, events/) never imports test/: tests are not shipped.',
      from: { path: '^(bin|lib|functions|events)/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-lib-local-in-product',
      severity: 'error',
      comment: 'lib/local/ (the local stand-ins) is used only by itself, bin/ and tests: never by functions/, events/ or the CDK app.',
      from: { path: '^(functions|events|lib)/', pathNot: '^lib/local/' },
      to: { path: '^lib/local/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles between modules (type-only imports included).',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: '^node_modules/' },
    exclude: { path: '^(node_modules|cdk[.]out|coverage)/' },
    // Count `import type` too: a type-only import is still a dependency between modules.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
