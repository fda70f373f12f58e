import type { SessionPayment } from './model.ts';

/** The admin view of a session's payment: provider, ids, status and amounts. */
export function paymentView(p: SessionPayment) {
  const outcome = p.settlement?.outcome;
  const refunds = Object.values(p.refunds ?? {}).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const capturedMinor = (outcome?.capturedMinor ?? 0) + (outcome?.topUpMinor ?? 0);
  return {
    provider: p.provider,
    channel: p.channel,
    status: p.status,
    currency: p.currency,
    paymentIntentIds: [p.hold?.paymentIntentId, p.settlement?.charge?.paymentIntentId].filter((id): id is string => Boolean(id)),
    ...(p.readerId ? { readerId: p.readerId } : {}),
    ...(p.customerId ? { customerId: p.customerId } : {}),
    authorizedMinor: p.hold?.paymentIntentId && p.status !== 'hold_failed' ? p.hold.amountMinor : 0,
    capturedMinor,
    refundedMinor: refunds.filter((r) => r.status === 'succeeded').reduce((sum, r) => sum + r.amountMinor, 0),
    outcome: outcome ?? null,
    hold: p.hold ?? null,
    holdFailure: p.holdFailure ?? null,
    runningCost: p.running ?? null,
    increments: p.increments,
    incrementRefused: p.incrementRefused ?? null,
    settlementSteps: p.settlement ? { plannedAt: p.settlement.plannedAt, plan: p.settlement.plan, incremented: p.settlement.incremented, capturedMinor: p.settlement.capturedMinor, canceled: p.settlement.canceled, charge: p.settlement.charge } : null,
    refunds,
  };
}
