import type Stripe from 'stripe';
import type { OcppStores } from '../../functions/ocpp/deps.ts';
import { hashPassword } from '../../functions/ocpp/domain/passwords.ts';

/** Demo data seeded on a local stack's first start; documented in the README. */
export const DEMO = {
  password: 'voltledger-demo-password',
  chargePoints: [
    { chargePointId: 'CP-001', siteId: 'berlin-mitte', timeZone: 'Europe/Berlin', maxPowerKw: 22 },
    { chargePointId: 'CP-002', siteId: 'berlin-mitte', timeZone: 'Europe/Berlin', maxPowerKw: 22 },
    { chargePointId: 'CP-003', siteId: 'munich-ost', timeZone: 'Europe/Berlin', maxPowerKw: 150 },
  ],
  idTags: [
    { idTag: 'DEMO-RETAIL', status: 'Accepted' as const, billing: { kind: 'retail' } },
    { idTag: 'DEMO-MEMBER', status: 'Accepted' as const, billing: { kind: 'member', tier: 'plus' } },
    { idTag: 'DEMO-FLEET-1', status: 'Accepted' as const, parentIdTag: 'DEMO-FLEET', billing: { kind: 'fleet', accountId: 'ACME' } },
    { idTag: 'DEMO-FREE', status: 'Accepted' as const, billing: { kind: 'free' } },
    { idTag: 'DEMO-BLOCKED', status: 'Blocked' as const },
    { idTag: 'DEMO-EXPIRED', status: 'Accepted' as const, expiryDate: '2025-01-01T00:00:00.000Z' },
  ],
  tariffId: 'DEMO-TOU',
  /** OCPI 2.2.1 tariff: 0.49 EUR/kWh 07:00-22:00, 0.35 EUR/kWh at night, 0.10 EUR/min parking, 19% VAT; tier `plus` 20 % off. */
  tariff: {
    country_code: 'DE',
    party_id: 'VLT',
    id: 'DEMO-TOU',
    currency: 'EUR',
    elements: [
      {
        price_components: [{ type: 'ENERGY', price: 0.49, vat: 19.0, step_size: 1 }],
        restrictions: { start_time: '07:00', end_time: '22:00' },
      },
      { price_components: [{ type: 'ENERGY', price: 0.35, vat: 19.0, step_size: 1 }] },
      { price_components: [{ type: 'PARKING_TIME', price: 6.0, vat: 19.0, step_size: 60 }] },
    ],
    // Members of tier `plus` (DEMO-MEMBER) pay 20 % less, so member pricing shows in every price.
    voltledger: { member_tiers: { plus: { description: 'VoltLedger Plus', discount_percent: 20 } } },
    last_updated: '2026-11-01T00:00:00Z',
  },
};

/** Seeds the demo data unless the store already has it (so a restart does not overwrite edits). */
export async function seedDemoData(stores: OcppStores, now: Date): Promise<boolean> {
  if (await stores.registry.getChargePoint(DEMO.chargePoints[0]!.chargePointId)) return false;
  const at = now.toISOString();
  if (!(await stores.tariffs.currentVersion(DEMO.tariffId))) {
    await stores.tariffs.putNewVersion(DEMO.tariffId, JSON.stringify(DEMO.tariff), at);
  }
  const passwordHash = await hashPassword(DEMO.password);
  for (const { chargePointId, ...config } of DEMO.chargePoints) {
    await stores.registry.upsertChargePoint(chargePointId, { ...config, passwordHash, tariffId: DEMO.tariffId }, at);
  }
  for (const tag of DEMO.idTags) await stores.entitlements.put({ ...tag, updatedAt: at });
  return true;
}

/**
 * With the Stripe emulator: the demo drivers pay by card. DEMO-RETAIL's driver has a Visa on file
 * (retail through the app); DEMO-MEMBER's driver subscribes to the `plus` tier's price, so the
 * emulator's webhooks make it a member. Goes through the admin API, as an operator would.
 */
export async function seedDemoPayers(stripe: Stripe, admin: (method: string, path: string, body: unknown) => Promise<{ statusCode: number; body: string }>): Promise<void> {
  const ok = async (method: string, path: string, body: unknown) => {
    const result = await admin(method, path, body);
    if (result.statusCode >= 300) throw new Error(`seeding demo payers: ${method} ${path} answered ${result.statusCode} ${result.body}`);
  };
  const customer = (name: string) =>
    stripe.customers.create({ name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@voltledger.example`, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
  const retail = await customer('Demo Retail');
  await ok('PUT', '/admin/drivers/demo-retail', { stripeCustomerId: retail.id, defaultPaymentMethodId: retail.invoice_settings.default_payment_method, idTags: ['DEMO-RETAIL'] });
  const price = await stripe.prices.create({ currency: 'eur', unit_amount: 999, recurring: { interval: 'month' }, product_data: { name: 'VoltLedger Plus' } });
  await ok('PUT', '/admin/membership-tiers/plus', { name: 'VoltLedger Plus', stripePriceIds: [price.id] });
  const member = await customer('Demo Member');
  await ok('PUT', '/admin/drivers/demo-member', { stripeCustomerId: member.id, defaultPaymentMethodId: member.invoice_settings.default_payment_method, idTags: ['DEMO-MEMBER'] });
  await stripe.subscriptions.create({ customer: member.id, items: [{ price: price.id }] });
}
