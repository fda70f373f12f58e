import { ValidationError, VoltLedgerError } from '../../shared/errors.ts';
import { isoMinorDigits, parseMinor } from '../../shared/money.ts';
import { divRoundHalfUp, formatScaled, formatScaledTrimmed, parseScaled } from '../../shared/decimal.ts';
import { localDateOf, type Period } from './period.ts';
import type { FleetBillingSettings, FleetPlan, TaxDetails } from './plan.ts';

/** Thrown when an account cannot be billed as configured (no tax details, an unknown currency). */
export class FleetBillingError extends VoltLedgerError {}

/**
 * One priced fleet session accrued to its account: what the statement line shows, kept as it was
 * priced (money in integer minor units, energy as an exact kWh decimal). Written once per session.
 */
export interface FleetAccrual {
  accountId: string;
  sessionId: string;
  transactionId: number;
  chargePointId: string;
  connectorId: number;
  siteId?: string;
  idTag: string;
  startedAt: string;
  completedAt: string;
  currency: string;
  /** kWh, exact (as priced). */
  energyKwh: string;
  /** From start to completion (charging and parked), whole seconds. */
  durationSeconds: number;
  amountExclVatMinor: number;
  amountInclVatMinor: number;
  tariff: { tariffId: string; version: number };
  /** The period the session started in, on the account's calendar. */
  naturalPeriod: Period;
  accruedAt: string;
  /** Set once, when a statement claims the session. */
  statementId?: string;
}

/** A statement line: one session. */
export interface StatementLine {
  sessionId: string;
  /** Local date of the start, on the account's calendar. */
  date: string;
  startedAt: string;
  siteId: string | null;
  chargePointId: string;
  idTag: string;
  energyKwh: string;
  durationSeconds: number;
  /** The session's priced amount excl. VAT. */
  amountExclVatMinor: number;
  /** What the plan bills for this line: the amount (per_session) or 0 (monthly: the fee covers it). */
  billedExclVatMinor: number;
  /** True when the session started in an earlier period and reached VoltLedger after that period's statement. */
  late: boolean;
}

/** A statement's figures. `subtotal = sessions + fixedFee + overage`, `total = subtotal + tax`. */
export interface FleetStatement {
  statementId: string;
  accountId: string;
  accountName: string;
  period: Period;
  currency: string;
  minorUnitDigits: number;
  timeZone: string;
  plan: FleetPlan;
  tax: TaxDetails & { note: string };
  lines: StatementLine[];
  sessionCount: number;
  energyKwh: string;
  includedEnergyKwh: string | null;
  overageEnergyKwh: string | null;
  sessionsExclVatMinor: number;
  fixedFeeMinor: number;
  overageMinor: number;
  subtotalMinor: number;
  taxMinor: number;
  totalMinor: number;
  /** Sessions the statement could not bill (another currency), with the reason. */
  excluded: Array<{ sessionId: string; reason: string }>;
}

/**
 * Splits accruals into those a statement in `currency` can bill and those it cannot (priced in
 * another currency). A statement claims only the first: a session is never marked billed by a
 * statement that leaves it out of its totals. The others stay unclaimed, are listed in
 * `excluded` of every statement of the account until an operator resolves them, and revenue
 * assurance keeps them open (docs/payments.md, "Fleet sessions in another currency").
 */
export function splitByCurrency<A extends Pick<FleetAccrual, 'sessionId' | 'currency'>>(accruals: readonly A[], currency: string): { billable: A[]; excluded: Array<{ sessionId: string; reason: string }> } {
  const billable: A[] = [];
  const excluded: Array<{ sessionId: string; reason: string }> = [];
  for (const a of accruals) {
    if (a.currency === currency) billable.push(a);
    else excluded.push({ sessionId: a.sessionId, reason: `priced in ${a.currency}, the account bills in ${currency}: not claimed, left for review` });
  }
  return { billable, excluded };
}

/** The statement id of an account's period: deterministic, so every re-run names the same statement. */
export function statementIdFor(accountId: string, period: Period): string {
  return `FS-${accountId}-${period}`;
}

const MWH_PER_KWH = 1_000_000n;

function kwhToMilliWh(kwh: string, field: string): bigint {
  const value = parseScaled(kwh, 6);
  if (value === null || value < 0n) throw new ValidationError(`${field} must be a non-negative kWh decimal (got "${kwh}")`, field);
  return value;
}

/** A decimal money text in the currency's minor units (ISO 4217), rounded half up once if it has more decimals. */
export function decimalToMinor(text: string, currency: string, field: string): bigint {
  try {
    return parseMinor(text, currency);
  } catch (error) {
    if (error instanceof RangeError) throw new ValidationError(`${field} must be a decimal amount (got "${text}")`, field, { cause: error });
    throw error;
  }
}

function taxNote(tax: TaxDetails): string {
  switch (tax.treatment) {
    case 'reverse_charge':
      return `reverse charge: VAT is accounted for by the customer${tax.taxId ? ` (${tax.taxId})` : ''}`;
    case 'exempt':
      return 'exempt from VAT';
    default:
      return `VAT ${formatScaledTrimmed(parseScaled(tax.vatPercent, 2)!, 2)} % on the subtotal`;
  }
}

/**
 * Computes a fleet account's statement for a period from the sessions claimed for it. Pure and
 * exact: minor units and mWh as BigInt; the overage and the tax are each rounded once, half up,
 * from their exact values (docs/pricing.md's rounding rule, applied to the statement's own figures).
 *
 * @throws FleetBillingError when the account has no tax details.
 * @example
 * const statement = computeStatement(settings, '2026-11', accruals);
 * statement.totalMinor === statement.subtotalMinor + statement.taxMinor; // always
 */
export function computeStatement(settings: FleetBillingSettings, period: Period, accruals: readonly FleetAccrual[]): FleetStatement {
  if (!settings.tax) throw new FleetBillingError(`fleet account ${settings.accountId} has no tax details (taxDetails.vatPercent); a statement cannot be issued without them`);
  const tax = settings.tax;
  const digits = isoMinorDigits(settings.currency);
  const split = splitByCurrency(accruals, settings.currency);
  const excluded: FleetStatement['excluded'] = split.excluded;
  const billable = split.billable
    .sort((x, y) => (x.startedAt === y.startedAt ? x.sessionId.localeCompare(y.sessionId) : x.startedAt < y.startedAt ? -1 : 1));

  const perSession = settings.plan.kind === 'per_session';
  let sessions = 0n;
  let energy = 0n;
  const lines: StatementLine[] = billable.map((a) => {
    energy += kwhToMilliWh(a.energyKwh, `sessions.${a.sessionId}.energyKwh`);
    if (perSession) sessions += BigInt(a.amountExclVatMinor);
    return {
      sessionId: a.sessionId,
      date: localDateOf(a.startedAt, settings.timeZone),
      startedAt: a.startedAt,
      siteId: a.siteId ?? null,
      chargePointId: a.chargePointId,
      idTag: a.idTag,
      energyKwh: a.energyKwh,
      durationSeconds: a.durationSeconds,
      amountExclVatMinor: a.amountExclVatMinor,
      billedExclVatMinor: perSession ? a.amountExclVatMinor : 0,
      late: a.naturalPeriod < period,
    };
  });

  let fixedFee = 0n;
  let overage = 0n;
  let included: bigint | null = null;
  let overageEnergy: bigint | null = null;
  if (settings.plan.kind === 'monthly') {
    fixedFee = decimalToMinor(settings.plan.fixedFee, settings.currency, 'plan.fixedFee');
    included = kwhToMilliWh(settings.plan.includedEnergyKwh, 'plan.includedEnergyKwh');
    overageEnergy = energy > included ? energy - included : 0n;
    // Exact: mWh x price (1e-6 units) / 1e6 mWh per kWh, in minor units; rounded once here.
    const rateE6 = parseScaled(settings.plan.overagePerKwh, 6)!;
    overage = divRoundHalfUp(overageEnergy * rateE6 * 10n ** BigInt(digits), MWH_PER_KWH * 1_000_000n);
  }
  const subtotal = sessions + fixedFee + overage;
  const taxAmount = tax.treatment === 'standard' ? divRoundHalfUp(subtotal * parseScaled(tax.vatPercent, 2)!, 10_000n) : 0n;
  return {
    statementId: statementIdFor(settings.accountId, period),
    accountId: settings.accountId,
    accountName: settings.name,
    period,
    currency: settings.currency,
    minorUnitDigits: digits,
    timeZone: settings.timeZone,
    plan: settings.plan,
    tax: { ...tax, note: taxNote(tax) },
    lines,
    sessionCount: lines.length,
    energyKwh: formatScaledTrimmed(energy, 6),
    includedEnergyKwh: included === null ? null : formatScaledTrimmed(included, 6),
    overageEnergyKwh: overageEnergy === null ? null : formatScaledTrimmed(overageEnergy, 6),
    sessionsExclVatMinor: Number(sessions),
    fixedFeeMinor: Number(fixedFee),
    overageMinor: Number(overage),
    subtotalMinor: Number(subtotal),
    taxMinor: Number(taxAmount),
    totalMinor: Number(subtotal + taxAmount),
    excluded,
  };
}

/** One Stripe invoice item planned from a statement; `key` is stable so a re-run finds what exists. */
export interface PlannedInvoiceItem {
  key: string;
  description: string;
  amountMinor: number;
}

/**
 * The invoice items that bill a statement: the sessions grouped by site (Stripe allows 250 items
 * per invoice; the statement itself lists every session), the fixed fee, the overage and the VAT
 * as computed by the statement (so the invoice total equals the statement total to the cent; no
 * Stripe Tax). Items of 0 are left out. The amounts add up to `totalMinor`.
 */
export function planInvoiceItems(statement: FleetStatement): PlannedInvoiceItem[] {
  const money = (minor: number) => `${formatScaled(BigInt(minor), statement.minorUnitDigits)} ${statement.currency}`;
  const items: PlannedInvoiceItem[] = [];
  if (statement.plan.kind === 'per_session') {
    const bySite = new Map<string, { count: number; energy: bigint; amount: number }>();
    for (const line of statement.lines) {
      const site = line.siteId ?? '(no site)';
      const entry = bySite.get(site) ?? { count: 0, energy: 0n, amount: 0 };
      entry.count += 1;
      entry.energy += parseScaled(line.energyKwh, 6)!;
      entry.amount += line.billedExclVatMinor;
      bySite.set(site, entry);
    }
    for (const [site, entry] of [...bySite].sort(([a], [b]) => a.localeCompare(b))) {
      if (entry.amount === 0) continue;
      items.push({
        key: `sessions:${site}`,
        description: `Charging ${statement.period}, site ${site}: ${entry.count} session${entry.count === 1 ? '' : 's'}, ${formatScaledTrimmed(entry.energy, 6)} kWh`,
        amountMinor: entry.amount,
      });
    }
  }
  if (statement.fixedFeeMinor > 0) {
    const plan = statement.plan as Extract<FleetPlan, { kind: 'monthly' }>;
    items.push({ key: 'fixed-fee', description: `Monthly fee ${statement.period} (includes ${plan.includedEnergyKwh} kWh)`, amountMinor: statement.fixedFeeMinor });
  }
  if (statement.overageMinor > 0) {
    const plan = statement.plan as Extract<FleetPlan, { kind: 'monthly' }>;
    items.push({ key: 'overage', description: `Energy above the included ${plan.includedEnergyKwh} kWh: ${statement.overageEnergyKwh} kWh at ${plan.overagePerKwh} ${statement.currency}/kWh`, amountMinor: statement.overageMinor });
  }
  if (statement.taxMinor > 0) items.push({ key: 'tax', description: `${statement.tax.note} (${money(statement.subtotalMinor)})`, amountMinor: statement.taxMinor });
  return items;
}
