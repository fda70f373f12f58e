import { describe, expect, it } from 'vitest';
import { BILLING_KINDS, BillingProfileSchema, billingKindOf, DEFAULT_BILLING_KIND, paidByCard } from '../../../events/billing.ts';

describe('billing rules every context shares (events/billing.ts)', () => {
  it('a session without a billing profile is retail, and a card pays for it', () => {
    expect(DEFAULT_BILLING_KIND).toBe('retail');
    for (const none of [null, undefined, {}, { kind: 7 }]) {
      expect(billingKindOf(none)).toBe('retail');
      expect(paidByCard(none)).toBe(true);
    }
  });

  it.each([
    [{ kind: 'retail', channel: 'app' }, 'retail', true],
    [{ kind: 'member', tier: 'plus' }, 'member', true],
    [{ kind: 'fleet', accountId: 'ACME' }, 'fleet', false],
    [{ kind: 'roaming', partnerId: 'DE*EMP' }, 'roaming', false],
    [{ kind: 'free', reason: 'staff' }, 'free', false],
  ])('%j is %s, paid by card: %s', (profile, kind, byCard) => {
    expect(billingKindOf(profile)).toBe(kind);
    expect(paidByCard(profile)).toBe(byCard);
  });

  it('knows exactly the kinds pricing validates', () => {
    const schemaKinds = BillingProfileSchema.options.map((option) => option.shape.kind.value).sort();
    expect([...BILLING_KINDS].sort()).toEqual(schemaKinds);
  });
});
