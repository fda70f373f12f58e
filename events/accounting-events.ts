import { z } from 'zod';
import { defineEvent } from './contract.ts';

/** Source of the events the ledger publishes. */
export const ACCOUNTING_SOURCE = 'voltledger.accounting';

const currency = z.string().regex(/^[A-Z]{3}$/, 'currency is an upper-case ISO 4217 code');

/** One side of a journal entry: a positive amount in minor units on one account (by its stable key). */
export const JournalLineSchema = z.strictObject({
  /** Stable account key (`stripe_clearing`); codes and names come from the chart of accounts when rendered. */
  account: z.string().min(1),
  side: z.enum(['debit', 'credit']),
  amountMinor: z.number().int().positive(),
  /** Sub-ledger party: the eMSP of a roaming receivable, the fleet account of a fleet receivable. */
  party: z.string().min(1).optional(),
  memo: z.string().optional(),
});
export type JournalLine = z.infer<typeof JournalLineSchema>;

/** What an entry is about: the ids reconciliation and the admin views look entries up by. */
export const EntryRefsSchema = z.strictObject({
  sessionId: z.string().optional(),
  siteId: z.string().optional(),
  chargePointId: z.string().optional(),
  /** retail | member | fleet | roaming | free, for revenue by billing model. */
  billingModel: z.string().optional(),
  paymentIntentId: z.string().optional(),
  chargeId: z.string().optional(),
  refundId: z.string().optional(),
  disputeId: z.string().optional(),
  payoutId: z.string().optional(),
  balanceTransactionId: z.string().optional(),
  statementId: z.string().optional(),
  fleetAccountId: z.string().optional(),
  cdrId: z.string().optional(),
  partnerId: z.string().optional(),
  /** The Stripe invoice an entry reclassifies the payment of (InvoicePaid). */
  invoiceId: z.string().optional(),
});
export type EntryRefs = z.infer<typeof EntryRefsSchema>;

/**
 * A balanced journal entry in one currency. `entryId` derives from the domain event that caused it
 * (`SessionPriced:<sessionId>`, `StripeFee:<balanceTransactionId>`), so a replayed event lands on the
 * same entry. `date` is the business time of that event, never the time it was posted.
 */
export const JournalEntrySchema = z.strictObject({
  entryId: z.string().min(1),
  date: z.iso.datetime({ offset: true }),
  currency,
  kind: z.string().min(1),
  description: z.string(),
  source: z.strictObject({ eventId: z.string().min(1), detailType: z.string().min(1) }),
  refs: EntryRefsSchema,
  /** The entry this one reverses (a failed payout reverses the paid one). */
  reverses: z.string().optional(),
  lines: z.array(JournalLineSchema).min(2),
});
export type JournalEntry = z.infer<typeof JournalEntrySchema>;

/**
 * A journal entry was written to the ledger (once; a replay republishes the stored entry under the
 * same id). The accounting sync pushes it to the accounting system. Id: `JournalEntryPosted:<entryId>`.
 */
export const JournalEntryPosted = defineEvent({
  source: ACCOUNTING_SOURCE,
  detailType: 'JournalEntryPosted',
  version: 1,
  data: z.strictObject({ entry: JournalEntrySchema, postedAt: z.iso.datetime({ offset: true }) }),
});
