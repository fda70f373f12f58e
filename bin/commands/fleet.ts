import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { StatementView } from '../../functions/fleet/fleet-billing.ts';
import type { FleetStatement } from '../../functions/fleet/domain/statement.ts';
import { formatScaled } from '../../functions/shared/decimal.ts';
import { ADMIN_OPTIONS, adminClient } from './admin-client.ts';

const USAGE = `voltledger fleet statement --account ID --period YYYY-MM [--format table|csv|json] [--issue]
voltledger fleet statements --account ID

  statement    prints an account's statement for a period: as issued, or a preview of what issuing
               it now would bill (its unbilled sessions of that period and earlier). One line per
               session (date, site, charge point, idTag, energy, duration, amount), the plan's fixed
               fee and overage, VAT, total.
    --issue    issues it (the period must be over): Stripe invoice on the account's customer,
               FleetStatementIssued. Idempotent: running it again prints the same statement.
    --format   table (default), csv (one row per session, then fee/overage/subtotal/tax/total
               rows) or json (the statement as the admin API answers it)
  statements   lists an account's statements (period, status, totals, invoice)

Where:  --admin-url URL (default http://127.0.0.1:8080/admin) with ADMIN_TOKEN or --admin-token,
        or --data-dir DIR to read a stopped local stack's data (issuing needs the running stack).`;

const money = (minor: number, statement: FleetStatement) => formatScaled(BigInt(minor), statement.minorUnitDigits);

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

const csvCell = (value: string | number | null) => {
  const text = value === null ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** The statement as CSV: one row per session, then the summary rows; amounts excl. VAT unless the row says otherwise. */
export function statementCsv(statement: FleetStatement): string {
  const header = ['type', 'date', 'site', 'chargePoint', 'idTag', 'sessionId', 'energyKwh', 'durationSeconds', 'amountExclVat', 'billedExclVat', 'currency'];
  const rows: Array<Array<string | number | null>> = statement.lines.map((l) => [
    l.late ? 'session (late)' : 'session',
    l.date,
    l.siteId,
    l.chargePointId,
    l.idTag,
    l.sessionId,
    l.energyKwh,
    l.durationSeconds,
    money(l.amountExclVatMinor, statement),
    money(l.billedExclVatMinor, statement),
    statement.currency,
  ]);
  const summary = (type: string, minor: number, energy: string | null = null) => [type, null, null, null, null, null, energy, null, null, money(minor, statement), statement.currency];
  rows.push(summary('sessions', statement.sessionsExclVatMinor, statement.energyKwh));
  if (statement.plan.kind === 'monthly') {
    rows.push(summary('fixed_fee', statement.fixedFeeMinor, statement.includedEnergyKwh));
    rows.push(summary('overage', statement.overageMinor, statement.overageEnergyKwh));
  }
  rows.push(summary('subtotal', statement.subtotalMinor));
  rows.push(summary('tax', statement.taxMinor));
  rows.push(summary('total', statement.totalMinor));
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n');
}

/** The statement as a plain-text table for a terminal. */
export function statementTable(view: StatementView): string {
  const s = view.statement;
  const cols = ['date', 'site', 'charge point', 'idTag', 'kWh', 'duration', `amount ${s.currency}`, `billed ${s.currency}`];
  const body = s.lines.map((l) => [l.date + (l.late ? '*' : ''), l.siteId ?? '-', l.chargePointId, l.idTag, l.energyKwh, duration(l.durationSeconds), money(l.amountExclVatMinor, s), money(l.billedExclVatMinor, s)]);
  const widths = cols.map((c, i) => Math.max(c.length, ...body.map((r) => r[i]!.length)));
  const right = new Set([4, 5, 6, 7]);
  const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const plan = s.plan.kind === 'monthly' ? `monthly: ${s.plan.fixedFee} ${s.currency} incl. ${s.plan.includedEnergyKwh} kWh, then ${s.plan.overagePerKwh} ${s.currency}/kWh` : 'per session';
  const out = [
    `Statement ${s.statementId}   ${s.accountName} (${s.accountId})   period ${s.period} (${s.timeZone})   ${view.status}${view.issuedAt ? ` ${view.issuedAt}` : ''}`,
    `Plan: ${plan}${s.tax.taxId ? `   VAT id ${s.tax.taxId}` : ''}`,
    '',
    line(cols),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
  ];
  const total = (label: string, minor: number) => `${label.padEnd(32)}${money(minor, s).padStart(14)} ${s.currency}`;
  out.push(total(`Sessions (${s.sessionCount}, ${s.energyKwh} kWh)`, s.sessionsExclVatMinor));
  if (s.plan.kind === 'monthly') {
    out.push(total('Monthly fee', s.fixedFeeMinor));
    out.push(total(`Overage (${s.overageEnergyKwh} kWh)`, s.overageMinor));
  }
  out.push(total('Subtotal', s.subtotalMinor), total(`Tax: ${s.tax.note}`.slice(0, 32), s.taxMinor), total('Total', s.totalMinor));
  if (s.lines.some((l) => l.late)) out.push('', '* started in an earlier period, reached VoltLedger after that period was billed');
  for (const e of s.excluded) out.push(`not billed: ${e.sessionId}: ${e.reason}`);
  if (view.invoice) out.push('', `Stripe invoice ${view.invoice.stripeInvoiceId} ${view.invoice.number ?? ''} ${view.invoice.status}${view.invoice.paymentError ? ` (payment failed: ${view.invoice.paymentError})` : ''}`.replace(/\s+/g, ' ').trim());
  return out.join('\n');
}

/** `voltledger fleet`: see {@link USAGE}. Returns the exit status. */
export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...ADMIN_OPTIONS, account: { type: 'string' }, period: { type: 'string' }, format: { type: 'string', default: 'table' }, issue: { type: 'boolean', default: false } },
    });
  } catch (error) {
    console.error(`voltledger fleet: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, ...extra] = positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const usageError =
    !action || extra.length || (action !== 'statement' && action !== 'statements')
      ? 'expected "statement" or "statements"'
      : !values.account
        ? '--account is required'
        : action === 'statement' && !values.period
          ? '--period YYYY-MM is required'
          : !['table', 'csv', 'json'].includes(values.format!)
            ? '--format must be table, csv or json'
            : null;
  if (usageError) {
    console.error(`voltledger fleet: ${usageError}\n\n${USAGE}`);
    return 2;
  }
  const client = await adminClient({ adminUrl: values['admin-url'], adminToken: values['admin-token'], dataDir: values['data-dir'] && resolve(values['data-dir']) });
  try {
    const account = encodeURIComponent(values.account!);
    if (action === 'statements') {
      const result = await client.call('GET', `/fleet-accounts/${account}/statements`);
      if (result.status !== 200) return fail(result);
      console.log(JSON.stringify(result.body, null, 2));
      return 0;
    }
    const period = encodeURIComponent(values.period!);
    const result = values.issue ? await client.call('POST', `/fleet-accounts/${account}/statements/${period}/issue`) : await client.call('GET', `/fleet-accounts/${account}/statements/${period}`);
    if (result.status !== 200) return fail(result);
    const view = result.body as StatementView;
    if (values.format === 'json') console.log(JSON.stringify(view, null, 2));
    else if (values.format === 'csv') console.log(statementCsv(view.statement));
    else console.log(statementTable(view));
    return 0;
  } finally {
    await client.close();
  }
}

function fail(result: { status: number; body: any }): number {
  console.error(`voltledger fleet: ${result.status} ${result.body?.message ?? JSON.stringify(result.body)}`);
  return 1;
}
