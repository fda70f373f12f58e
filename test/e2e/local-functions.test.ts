import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMERS } from '../../events/routing.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { OCPP_METRICS } from '../../functions/shared/metric-names.ts';
import { connectChargePoint, startTestStack, type ChargePointClient } from '../support/stack.ts';

/**
 * The local stack runs the handler modules Lambda runs (createHandler over the stack's platform):
 * the middy chain, the metrics and the lazy composition, not a second wiring of the contexts.
 */
describe('the local stack invokes the Lambda handler modules', () => {
  let stack: LocalStack;
  let cp: ChargePointClient | undefined;

  beforeAll(async () => {
    stack = await startTestStack();
  });

  afterAll(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    await stack.close();
  });

  it('an Authorize goes through functions/ocpp/message.ts: its Authorize latency metric is published', async () => {
    cp = await connectChargePoint(stack, DEMO.chargePoints[0]!.chargePointId);
    const answer = (await cp.call('Authorize', { idTag: 'DEMO-RETAIL' })) as { idTagInfo: { status: string } };
    expect(answer.idTagInfo.status).toBe('Accepted');
    const published = stack.metrics.published().filter((m) => m.service === OCPP_METRICS.service);
    expect(published.length).toBeGreaterThan(0);
    const last = published.at(-1)!.emf;
    expect(typeof last[OCPP_METRICS.authorizeLatency]).toBe('number');
  });

  it('every consumer in events/routing.ts names a module that exports createHandler and handler', async () => {
    for (const [id, spec] of Object.entries(CONSUMERS)) {
      const module = (await import(`../../${spec.entry}`)) as Record<string, unknown>;
      expect(typeof module.createHandler, `${id}: ${spec.entry}`).toBe('function');
      expect(typeof module.handler, `${id}: ${spec.entry}`).toBe('function');
    }
  });
});
