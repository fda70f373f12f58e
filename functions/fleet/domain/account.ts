import type { FleetPlan, InvoiceCollection, TaxDetails } from './plan.ts';

/**
 * A fleet account billed monthly for its vehicles' idTags (statements: functions/fleet). Kept in
 * the Entitlements table beside the idTags (functions/fleet/adapters/dynamo-fleet-accounts.ts).
 */
export interface FleetAccountRecord {
  accountId: string;
  name: string;
  currency: string;
  billingContact: { name?: string; email: string; phone?: string };
  taxId?: string;
  tariffId?: string;
  /** Per-session billing, or a monthly fee with included energy and an overage rate (default per session). */
  plan?: FleetPlan;
  /** VAT rate and treatment of the statements; required to issue one. */
  taxDetails?: TaxDetails;
  /** How the Stripe invoice is collected (default: emailed, due in 30 days). */
  invoiceCollection?: InvoiceCollection;
  /** The Stripe customer invoiced; without it statements are issued without a Stripe invoice. */
  stripeCustomerId?: string;
  /** IANA zone of the account's calendar (periods, line dates); default UTC. */
  timeZone?: string;
  updatedAt: string;
}
