/** The `voltledger` command: one entry for the local stack, the simulator, pricing and benchmarks. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  local: { summary: 'run the whole stack on this machine (npm start)', load: () => import('./commands/local.ts') },
  simulate: { summary: 'drive simulated OCPP 1.6J charge points through sessions', load: () => import('./commands/simulate.ts') },
  price: { summary: 'price a session or an OCPI CDR under an OCPI 2.2.1 tariff', load: () => import('./commands/price.ts') },
  bench: { summary: 'run the benchmarks and print the figures for BENCHMARKS.md', load: () => import('./commands/bench.ts') },
  'id-tags': { summary: 'import a CSV of RFID cards, block a card', load: () => import('./commands/id-tags.ts') },
  entitlements: { summary: 'resync memberships from Stripe and report what changed', load: () => import('./commands/entitlements.ts') },
  fleet: { summary: 'print or issue a fleet account\'s monthly statement (table, CSV, JSON)', load: () => import('./commands/fleet.ts') },
  export: { summary: "export a day's revenue by site, billing model and account (CSV or JSON)", load: () => import('./commands/export.ts') },
  reconcile: { summary: 'reconcile a day or a payout: sessions vs Stripe vs the ledger', load: () => import('./commands/reconcile.ts') },
  accounting: { summary: 'replay dead-lettered journal entries, list what the accounting receiver got', load: () => import('./commands/accounting.ts') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: voltledger <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nvoltledger <command> --help for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(`voltledger: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`voltledger ${name}: ${message}`);
    if (process.env.DEBUG) console.error(error);
    return 1;
  }
}
