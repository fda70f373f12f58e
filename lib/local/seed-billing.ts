import type Stripe from 'stripe';
import type { FleetAccountStore } from '../../functions/fleet/domain/ports.ts';
import type { Roaming } from '../../functions/roaming/roaming-service.ts';
import type { OcpiPartner } from './ocpi-partner.ts';

/** The demo roaming partner, its token and the demo sites' OCPI locations; documented in the README. */
export const DEMO_ROAMING = {
  partnerId: 'DEMO-EMSP',
  countryCode: 'NL',
  partyId: 'EMS',
  idTag: 'DEMO-ROAMING',
  locations: {
    'berlin-mitte': { name: 'Berlin Mitte depot', address: 'Invalidenstrasse 1', city: 'Berlin', postal_code: '10115', country: 'DEU', coordinates: { latitude: '52.53000', longitude: '13.38000' } },
    'munich-ost': { name: 'Munich Ost', address: 'Friedenstrasse 10', city: 'Muenchen', postal_code: '81671', country: 'DEU', coordinates: { latitude: '48.12500', longitude: '11.60500' } },
  },
} as const;

/** Registers the local OCPI partner as `DEMO-EMSP` (its URL), its token `DEMO-ROAMING` and the demo sites' locations. */
export async function seedDemoRoaming(roaming: Roaming, partner: OcpiPartner, now: Date): Promise<void> {
  await roaming.putPartner(DEMO_ROAMING.partnerId, {
    name: 'Demo eMSP (local OCPI receiver)',
    countryCode: DEMO_ROAMING.countryCode,
    partyId: DEMO_ROAMING.partyId,
    cdrsUrl: partner.cdrsUrl,
    token: partner.token,
    tariffIds: ['DEMO-TOU'],
    active: true,
  });
  for (const [siteId, location] of Object.entries(DEMO_ROAMING.locations)) {
    await roaming.putLocation(siteId, { ...location, defaultConnector: { standard: 'IEC_62196_T2', format: 'SOCKET', power_type: 'AC_3_PHASE' }, connectors: {} });
  }
  try {
    await roaming.putToken(DEMO_ROAMING.partnerId, {
      country_code: DEMO_ROAMING.countryCode,
      party_id: DEMO_ROAMING.partyId,
      uid: DEMO_ROAMING.idTag,
      type: 'RFID',
      contract_id: 'NL-EMS-C12345678-X',
      issuer: 'Demo eMSP',
      valid: true,
      whitelist: 'ALLOWED',
      last_updated: now.toISOString(),
    });
  } catch {
    // An operator reused the idTag for something else: the demo token stays out of its way.
  }
}

/** The demo fleet account of DEMO-FLEET-1; documented in the README. */
export const DEMO_FLEET = {
  accountId: 'ACME',
  name: 'ACME Logistics GmbH',
  currency: 'EUR',
  billingContact: { name: 'Accounts payable', email: 'billing@acme.example' },
  plan: { kind: 'per_session' as const },
  taxDetails: { vatPercent: '19', treatment: 'standard' as const, taxId: 'DE123456789', country: 'DE' },
  invoiceCollection: { method: 'send_invoice' as const, daysUntilDue: 14 },
  timeZone: 'Europe/Berlin',
};

/**
 * Seeds the demo fleet account once (an operator's edits are kept): with the Stripe emulator, on a
 * new Stripe customer, so issuing a demo statement creates a Stripe invoice.
 */
export async function seedDemoFleet(store: Pick<FleetAccountStore, 'getFleet' | 'putFleet'>, stripe: Stripe | undefined, now: Date): Promise<boolean> {
  if (await store.getFleet(DEMO_FLEET.accountId)) return false;
  const customer = stripe ? await stripe.customers.create({ name: DEMO_FLEET.name, email: DEMO_FLEET.billingContact.email, metadata: { voltledger_fleet_account: DEMO_FLEET.accountId } }) : undefined;
  await store.putFleet({ ...DEMO_FLEET, ...(customer ? { stripeCustomerId: customer.id } : {}), updatedAt: now.toISOString() });
  return true;
}
