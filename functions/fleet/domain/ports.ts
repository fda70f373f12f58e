import type { FleetAccountRecord } from './account.ts';
import type { InvoiceCollection } from './plan.ts';
import type { FleetAccrual, FleetStatement, PlannedInvoiceItem } from './statement.ts';

/** What a claim attempt found: the accrual is (now) this statement's, or another statement has it. */
export type ClaimOutcome = 'claimed' | 'other';

/** A statement's amounts as frozen; the FleetStatementIssued figures. */
export interface StatementTotals {
  currency: string;
  sessionCount: number;
  sessionsExclVatMinor: number;
  fixedFeeMinor: number;
  overageMinor: number;
  subtotalMinor: number;
  taxMinor: number;
  totalMinor: number;
}

/** Where a statement's Stripe invoice stands; saved after every step so a re-run resumes, never repeats. */
export interface InvoiceProgress {
  stripeInvoiceId: string;
  status: string;
  /** Item keys (PlannedInvoiceItem.key) already on the invoice. */
  itemKeys: string[];
  number?: string;
  amountDueMinor?: number;
  hostedInvoiceUrl?: string;
  finalizedAt?: string;
  sentAt?: string;
  paidAt?: string;
  /** The last payment attempt's failure (charge_automatically); Stripe's own retries carry on. */
  paymentError?: string;
}

/**
 * One statement of an account and period. `draft` while sessions are being claimed, `frozen` once
 * its sessions and totals are fixed (nothing can be added after), `issued` once invoiced and
 * announced. The lease keeps two issuers of the same statement from interleaving.
 */
export interface StatementRecord {
  statementId: string;
  accountId: string;
  period: string;
  status: 'draft' | 'frozen' | 'issued';
  createdAt: string;
  leaseOwner?: string;
  leaseUntil?: string;
  /** Sessions an issuer meant to claim (written before each claim, so a crash never hides one). */
  claimedSessionIds?: string[];
  frozenAt?: string;
  /** The account's billing settings the statement was computed with (later edits never change it). */
  settingsJson?: string;
  totals?: StatementTotals;
  sessionIds?: string[];
  invoice?: InvoiceProgress;
  issuedAt?: string;
}

/** The Fleet table. */
export interface FleetStore {
  /** Stores an accrual once; false when the session was accrued already. */
  putAccrual(accrual: FleetAccrual): Promise<boolean>;
  getAccrual(accountId: string, sessionId: string): Promise<FleetAccrual | undefined>;
  /** Accruals no statement has claimed, whose natural period is `upToPeriod` or earlier. */
  unbilledAccruals(accountId: string, upToPeriod: string): Promise<FleetAccrual[]>;
  getAccruals(accountId: string, sessionIds: readonly string[]): Promise<FleetAccrual[]>;
  /** Claims an accrual for a statement, once: 'claimed' if it is (now or already) this statement's. */
  claimAccrual(accountId: string, sessionId: string, statementId: string): Promise<ClaimOutcome>;
  getStatement(accountId: string, period: string): Promise<StatementRecord | undefined>;
  listStatements(accountId: string): Promise<StatementRecord[]>;
  /** Creates the draft unless the statement exists. */
  createStatement(record: StatementRecord): Promise<void>;
  acquireLease(accountId: string, period: string, owner: string, now: string, until: string): Promise<boolean>;
  releaseLease(accountId: string, period: string, owner: string): Promise<void>;
  recordClaimIntent(accountId: string, period: string, sessionIds: readonly string[]): Promise<void>;
  /** Freezes a draft held under `owner`'s lease; false if it is not a draft any more. */
  freeze(accountId: string, period: string, owner: string, fields: Pick<StatementRecord, 'frozenAt' | 'settingsJson' | 'totals' | 'sessionIds'>): Promise<boolean>;
  updateInvoice(accountId: string, period: string, invoice: InvoiceProgress): Promise<void>;
  /** Marks a frozen statement issued; returns the issue time on record (the first one). */
  markIssued(accountId: string, period: string, issuedAt: string): Promise<string>;
}

/** Fleet accounts (kept in the Entitlements table beside the idTags). */
export interface FleetAccountStore {
  getFleet(accountId: string): Promise<FleetAccountRecord | undefined>;
  /** Creates or replaces an account. */
  putFleet(record: FleetAccountRecord): Promise<void>;
  /** Every fleet account (the monthly statement run walks them). */
  listFleets(): AsyncIterable<FleetAccountRecord>;
}

/** What fleet billing reads of the accounts. */
export type FleetAccounts = Pick<FleetAccountStore, 'getFleet'>;

/** Invoices a frozen statement through Stripe (or a stand-in in tests). */
export interface FleetInvoicer {
  /**
   * Brings the statement's invoice to its final state (created, items added, finalized, then sent
   * or charged), resuming from `progress`; `save` is called after every step. Idempotent: every
   * request carries an idempotency key derived from the statement id and the step.
   */
  invoice(input: {
    statement: FleetStatement;
    customerId: string;
    collection: InvoiceCollection;
    items: PlannedInvoiceItem[];
    progress: InvoiceProgress | undefined;
    save(progress: InvoiceProgress): Promise<void>;
  }): Promise<InvoiceProgress>;
}
