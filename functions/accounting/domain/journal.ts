import type { JournalEntry, JournalLine } from '../../../events/accounting-events.ts';
import { isAccountKey, type AccountKey } from './chart.ts';
import { UnbalancedEntryError, UnknownAccountError } from './errors.ts';

export type { JournalEntry, JournalLine } from '../../../events/accounting-events.ts';

/**
 * Checks what every entry must satisfy before anything is written: known accounts, positive
 * integer amounts, at least one debit and one credit, and debits equal to credits (summed as
 * BigInt, so no size of entry can overflow into a false balance). Returns the entry.
 *
 * @throws UnbalancedEntryError, UnknownAccountError
 */
export function assertBalanced(entry: JournalEntry): JournalEntry {
  if (!/^[A-Z]{3}$/.test(entry.currency)) throw new UnbalancedEntryError(`entry ${entry.entryId}: currency ${entry.currency} is not an ISO 4217 code`);
  let debits = 0n;
  let credits = 0n;
  for (const [index, line] of entry.lines.entries()) {
    if (!isAccountKey(line.account)) throw new UnknownAccountError(`entry ${entry.entryId}: line ${index} names unknown account ${line.account}`);
    if (!Number.isSafeInteger(line.amountMinor) || line.amountMinor <= 0) {
      throw new UnbalancedEntryError(`entry ${entry.entryId}: line ${index} amount ${line.amountMinor} is not a positive integer of minor units`);
    }
    if (line.side === 'debit') debits += BigInt(line.amountMinor);
    else credits += BigInt(line.amountMinor);
  }
  if (debits === 0n || credits === 0n) throw new UnbalancedEntryError(`entry ${entry.entryId} needs at least one debit and one credit`);
  if (debits !== credits) throw new UnbalancedEntryError(`entry ${entry.entryId} does not balance: debits ${debits}, credits ${credits} ${entry.currency}`);
  return entry;
}

/** A line, or nothing when the amount is zero (entries never carry zero lines). */
export function line(account: AccountKey, side: JournalLine['side'], amountMinor: number, extra: Pick<JournalLine, 'party' | 'memo'> = {}): JournalLine[] {
  if (amountMinor === 0) return [];
  if (amountMinor < 0) return [{ account, side: side === 'debit' ? 'credit' : 'debit', amountMinor: -amountMinor, ...extra }];
  return [{ account, side, amountMinor, ...extra }];
}

/** Merges lines on the same account, side and party, so an entry lists each once. */
export function mergeLines(lines: JournalLine[]): JournalLine[] {
  const merged = new Map<string, JournalLine>();
  for (const l of lines) {
    const key = `${l.account}|${l.side}|${l.party ?? ''}`;
    const existing = merged.get(key);
    if (existing) merged.set(key, { ...existing, amountMinor: existing.amountMinor + l.amountMinor });
    else merged.set(key, { ...l });
  }
  return [...merged.values()];
}

/** The reversing entry of `entry`: same lines, sides swapped. Corrections never edit an entry. */
export function reversalOf(entry: JournalEntry, spec: { entryId: string; date: string; description: string; source: JournalEntry['source']; kind: string }): JournalEntry {
  return {
    ...spec,
    currency: entry.currency,
    refs: entry.refs,
    reverses: entry.entryId,
    lines: entry.lines.map((l) => ({ ...l, side: l.side === 'debit' ? 'credit' : 'debit' })),
  };
}

/** Signed balance per account (debit positive) and currency, optionally per party. */
export function balances(entries: Iterable<JournalEntry>, opts: { byParty?: boolean } = {}): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const entry of entries) {
    for (const l of entry.lines) {
      const key = `${entry.currency}|${l.account}${opts.byParty && l.party ? `|${l.party}` : ''}`;
      out.set(key, (out.get(key) ?? 0n) + (l.side === 'debit' ? 1n : -1n) * BigInt(l.amountMinor));
    }
  }
  return out;
}

/** UTC calendar day (`yyyy-mm-dd`) of an ISO timestamp: the ledger's day. */
export const utcDay = (iso: string) => new Date(iso).toISOString().slice(0, 10);

/** Whether two entries move the same money (currency and lines; descriptions and sources may differ). */
export function sameMoney(a: JournalEntry, b: JournalEntry): boolean {
  const canonical = (e: JournalEntry) =>
    JSON.stringify([e.currency, e.lines.map((l) => `${l.account}|${l.side}|${l.amountMinor}|${l.party ?? ''}`).sort()]);
  return canonical(a) === canonical(b);
}

/** The ids an entry can be looked up by (`session:<id>`, `charge:<id>`, ...), as facts name them. */
export const entryRefs = (entry: JournalEntry): string[] => {
  const r = entry.refs;
  return [
    r.sessionId && `session:${r.sessionId}`,
    r.paymentIntentId && `pi:${r.paymentIntentId}`,
    r.chargeId && `charge:${r.chargeId}`,
    r.refundId && `refund:${r.refundId}`,
    r.disputeId && `dispute:${r.disputeId}`,
    r.payoutId && `payout:${r.payoutId}`,
    r.balanceTransactionId && `txn:${r.balanceTransactionId}`,
    r.statementId && `statement:${r.statementId}`,
    r.cdrId && `cdr:${r.cdrId}`,
    r.invoiceId && `invoice:${r.invoiceId}`,
  ].filter((x): x is string => Boolean(x));
};
