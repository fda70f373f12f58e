import { z } from 'zod';
import { defineEvent } from './contract.ts';

/** Source of the fleet statement and roaming CDR events. */
export const FLEET_SOURCE = 'voltledger.fleet';
export const ROAMING_SOURCE = 'voltledger.roaming';

const minor = z.number().int().nonnegative();
/** Upper-case ISO 4217, as pricing and OCPI write it. */
const currency = z.string().regex(/^[A-Z]{3}$/, 'currency is an upper-case ISO 4217 code');
const iso = z.iso.datetime({ offset: true });

/**
 * A fleet account's statement for a billing period was issued (once per account and period; a
 * re-run republishes the same id). Amounts in minor units; `totalMinor = subtotalMinor + taxMinor`
 * and `subtotalMinor = sessionsExclVatMinor + fixedFeeMinor + overageMinor`.
 * Id: `FleetStatementIssued:<statementId>`.
 */
export const FleetStatementIssued = defineEvent({
  source: FLEET_SOURCE,
  detailType: 'FleetStatementIssued',
  version: 1,
  data: z
    .strictObject({
      statementId: z.string().min(1),
      accountId: z.string().min(1),
      /** `YYYY-MM`. */
      period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
      currency,
      sessionIds: z.array(z.string()),
      sessionsExclVatMinor: minor,
      fixedFeeMinor: minor,
      overageMinor: minor,
      subtotalMinor: minor,
      taxMinor: minor,
      totalMinor: minor,
      stripeInvoiceId: z.string().optional(),
      issuedAt: iso,
    })
    .refine((d) => d.totalMinor === d.subtotalMinor + d.taxMinor && d.subtotalMinor === d.sessionsExclVatMinor + d.fixedFeeMinor + d.overageMinor, {
      message: 'statement amounts do not add up',
    }),
});

/**
 * A roaming partner (eMSP) accepted a CDR (or a credit CDR correcting one). Amounts in minor units,
 * positive for a CDR and for a credit CDR alike; `credit` says which way it goes.
 * Id: `RoamingCdrAccepted:<cdrId>`.
 */
export const RoamingCdrAccepted = defineEvent({
  source: ROAMING_SOURCE,
  detailType: 'RoamingCdrAccepted',
  version: 1,
  data: z
    .strictObject({
      cdrId: z.string().min(1),
      partnerId: z.string().min(1),
      sessionId: z.string().min(1),
      credit: z.boolean(),
      /** The CDR this credit CDR corrects. */
      creditsCdrId: z.string().optional(),
      currency,
      exclVatMinor: minor,
      vatMinor: minor,
      inclVatMinor: minor,
      acceptedAt: iso,
    })
    .refine((d) => d.inclVatMinor === d.exclVatMinor + d.vatMinor, { message: 'CDR amounts do not add up' }),
});
