import { composeAccounting } from '../accounting/deps.ts';
import { composeMemberships } from '../entitlements/deps.ts';
import { composeFleet } from '../fleet/deps.ts';
import { composeOcpp } from '../ocpp/deps.ts';
import { composePayments } from '../payments/deps.ts';
import { composePricing } from '../pricing/deps.ts';
import { composeRoaming } from '../roaming/deps.ts';
import { perPlatform, type Platform } from '../shared/platform.ts';
import { createAdminApi } from './api.ts';

/**
 * The admin API's composition root over a platform: each context's routes over that context's own
 * composition (so the admin API and the consumers of one platform share their instances). The
 * token comes from ADMIN_TOKEN (the local stack's; on AWS the HTTP API's IAM authorizer guards
 * every route and none is set). Card payment routes exist when the platform has Stripe; memberships
 * may read Stripe without card payments when the caller says so (a local in-memory source).
 * Built once per platform.
 */
export const composeAdmin = perPlatform(
  async (platform: Platform, overrides: { stripeConfigured?: boolean; receiver?: { received(): unknown[]; rejected(): number } } = {}) => {
    const ocpp = composeOcpp(platform);
    const payments = await composePayments(platform);
    return createAdminApi({
      stores: ocpp.stores,
      prices: composePricing(platform).prices,
      system: ocpp.system,
      clock: platform.clock,
      log: platform.log,
      ...(platform.env.ADMIN_TOKEN ? { adminToken: platform.env.ADMIN_TOKEN } : {}),
      memberships: { ...composeMemberships(platform), stripeConfigured: overrides.stripeConfigured ?? Boolean(platform.stripe) },
      ...(payments ? { payments } : {}),
      fleet: composeFleet(platform),
      roaming: composeRoaming(platform),
      accounting: { ...composeAccounting(platform), ...(overrides.receiver ? { receiver: overrides.receiver } : {}) },
    });
  },
);
