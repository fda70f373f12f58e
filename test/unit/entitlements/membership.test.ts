import { describe, expect, it } from 'vitest';
import {
  applyDriverEntitlement,
  chooseMembership,
  decideMembership,
  driverEntitlement,
  parseGrantingStatuses,
} from '../../../functions/entitlements/domain/membership.ts';
import { DEFAULT_MEMBERSHIP_POLICY, SUBSCRIPTION_STATUSES, type MembershipPolicy, type MembershipState, type SubscriptionSnapshot } from '../../../functions/entitlements/domain/model.ts';
import type { EntitlementRecord } from '../../../functions/ocpp/domain/model.ts';

const now = new Date('2026-11-23T12:00:00Z');
const aSubscription = (overrides: Partial<SubscriptionSnapshot> = {}): SubscriptionSnapshot => ({
  id: 'sub_1',
  customerId: 'cus_1',
  status: 'active',
  priceIds: ['price_plus'],
  currentPeriodStart: '2026-11-22T00:00:00Z',
  currentPeriodEnd: '2026-12-22T00:00:00Z',
  collectionPaused: false,
  createdAt: '2026-10-01T00:00:00Z',
  ...overrides,
});
const tiers = (priceId: string) => ({ price_plus: 'plus', price_pro: 'pro' })[priceId];
const withGrace = (hours: number, statuses = ['trialing', 'active']): MembershipPolicy => ({ grantingStatuses: new Set(statuses), pastDueGraceHours: hours });

describe('membership decision', () => {
  describe('decideMembership', () => {
    it.each([
      // status, policy, expected grants, expected reason
      ['trialing', DEFAULT_MEMBERSHIP_POLICY, true, 'status-grants'],
      ['active', DEFAULT_MEMBERSHIP_POLICY, true, 'status-grants'],
      ['past_due', DEFAULT_MEMBERSHIP_POLICY, false, 'status-does-not-grant'],
      ['unpaid', DEFAULT_MEMBERSHIP_POLICY, false, 'status-does-not-grant'],
      ['canceled', DEFAULT_MEMBERSHIP_POLICY, false, 'status-does-not-grant'],
      ['paused', DEFAULT_MEMBERSHIP_POLICY, false, 'status-does-not-grant'],
      ['incomplete', DEFAULT_MEMBERSHIP_POLICY, false, 'status-does-not-grant'],
      ['incomplete_expired', DEFAULT_MEMBERSHIP_POLICY, false, 'status-does-not-grant'],
      // Period started 36 h before now: a 48 h grace still grants, a 24 h one is over.
      ['past_due', withGrace(48), true, 'past-due-in-grace'],
      ['past_due', withGrace(24), false, 'past-due-grace-over'],
      // past_due as a granting status is the business saying "always".
      ['past_due', withGrace(0, ['active', 'past_due']), true, 'status-grants'],
      // Grace is for past_due only.
      ['unpaid', withGrace(48), false, 'status-does-not-grant'],
    ] as const)('%s under %o grants=%s (%s)', (status, policy, grants, reason) => {
      const state = decideMembership(aSubscription({ status }), tiers, policy, now);
      expect(state).toMatchObject({ subscriptionId: 'sub_1', tier: 'plus', status, grants, reason });
    });

    it('states until when a past_due grace lasts', () => {
      expect(decideMembership(aSubscription({ status: 'past_due' }), tiers, withGrace(48), now).graceUntil).toBe('2026-11-24T00:00:00.000Z');
    });

    it('grants nothing while collection is paused, even when active', () => {
      expect(decideMembership(aSubscription({ collectionPaused: true }), tiers, DEFAULT_MEMBERSHIP_POLICY, now)).toMatchObject({ grants: false, reason: 'collection-paused' });
    });

    it('grants nothing for a subscription whose prices map to no tier', () => {
      const state = decideMembership(aSubscription({ priceIds: ['price_other'] }), tiers, DEFAULT_MEMBERSHIP_POLICY, now);
      expect(state).toMatchObject({ grants: false, reason: 'unknown-price' });
      expect(state.tier).toBeUndefined();
    });

    it('takes the tier from whichever item maps to one', () => {
      expect(decideMembership(aSubscription({ priceIds: ['price_addon', 'price_pro'] }), tiers, DEFAULT_MEMBERSHIP_POLICY, now).tier).toBe('pro');
    });
  });

  describe('chooseMembership', () => {
    const state = (id: string, grants: boolean, tier?: string): MembershipState => ({ subscriptionId: id, status: grants ? 'active' : 'canceled', grants, reason: grants ? 'status-grants' : 'status-does-not-grant', ...(tier ? { tier } : {}) });
    it.each([
      ['a granting one over a newer lapsed one', [{ state: state('old', true, 'plus'), createdAt: '2026-01-01' }, { state: state('new', false, 'plus'), createdAt: '2026-06-01' }], 'old'],
      ['the newest among lapsed ones', [{ state: state('a', false, 'plus'), createdAt: '2026-01-01' }, { state: state('b', false, 'plus'), createdAt: '2026-06-01' }], 'b'],
      ['one with a tier over one without', [{ state: state('a', false), createdAt: '2026-06-01' }, { state: state('b', false, 'plus'), createdAt: '2026-01-01' }], 'b'],
    ])('picks %s', (_name, candidates, expected) => {
      expect(chooseMembership(candidates)?.subscriptionId).toBe(expected);
    });
    it('is undefined without candidates', () => expect(chooseMembership([])).toBeUndefined());
  });

  describe('driver entitlement', () => {
    const granted: MembershipState = { subscriptionId: 'sub_1', tier: 'plus', status: 'active', grants: true, reason: 'status-grants' };
    const lapsed: MembershipState = { ...granted, status: 'past_due', grants: false, reason: 'status-does-not-grant' };
    it.each([
      ['a granting membership', { membership: granted }, { billing: { kind: 'member', tier: 'plus', membershipId: 'sub_1' }, blocked: false }],
      ['a lapsed membership with a payment method', { membership: lapsed, defaultPaymentMethodId: 'pm_1' }, { billing: { kind: 'retail', channel: 'app' }, blocked: false }],
      ['a lapsed membership without a payment method', { membership: lapsed }, { billing: { kind: 'retail', channel: 'app' }, blocked: true }],
      ['no membership, a payment method', { defaultPaymentMethodId: 'pm_1' }, { billing: { kind: 'retail', channel: 'app' }, blocked: false }],
    ])('%s', (_name, driver, expected) => {
      expect(driverEntitlement(driver, undefined)).toEqual(expected);
    });

    it("uses the tier's tariff while the membership grants", () => {
      expect(driverEntitlement({ membership: granted }, { tier: 'plus', name: 'Plus', stripePriceIds: [], tariffId: 'T-PLUS', updatedAt: '' }).tariffId).toBe('T-PLUS');
    });

    const tag = (overrides: Partial<EntitlementRecord> = {}): EntitlementRecord => ({ idTag: 'TAG1', status: 'Accepted', expiryDate: '2027-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', ...overrides });
    const driver = { driverId: 'd1', version: 3 };

    it('blocks an accepted tag when nobody can be charged, and lifts the block when the membership is back', () => {
      const blocked = applyDriverEntitlement(tag(), driver, { billing: { kind: 'retail', channel: 'app' }, blocked: true }, 'now');
      expect(blocked).toMatchObject({ status: 'Blocked', baseStatus: 'Accepted', blockedReason: 'no-payment-method', driverId: 'd1', driverVersion: 3, expiryDate: '2027-01-01T00:00:00Z' });
      const back = applyDriverEntitlement(blocked, { ...driver, version: 4 }, { billing: { kind: 'member', tier: 'plus' }, blocked: false }, 'later');
      expect(back).toMatchObject({ status: 'Accepted', billing: { kind: 'member', tier: 'plus' }, driverVersion: 4 });
      expect(back.blockedReason).toBeUndefined();
    });

    it("never lifts the operator's own block", () => {
      const next = applyDriverEntitlement(tag({ status: 'Blocked', baseStatus: 'Blocked' }), driver, { billing: { kind: 'member', tier: 'plus' }, blocked: false }, 'now');
      expect(next.status).toBe('Blocked');
    });
  });

  describe('configuration', () => {
    it('parses the granting statuses and names the unknown ones', () => {
      expect(parseGrantingStatuses('trialing, Active,past_due', SUBSCRIPTION_STATUSES)).toEqual({ statuses: new Set(['trialing', 'active', 'past_due']), unknown: [] });
      expect(parseGrantingStatuses('active,pastdue', SUBSCRIPTION_STATUSES).unknown).toEqual(['pastdue']);
    });
  });
});
