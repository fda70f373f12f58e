import { decideAuthorization, type ConcurrencyPolicy } from './authorization.ts';
import type { IdTagInfo } from './model.ts';
import type { AuthorizeRequest, AuthorizeResponse } from './ocpp16-messages.generated.ts';
import type { OcppPorts } from './ports.ts';

/** Authorize, answered from the entitlement cache: one read, no network call. */
export function createAuthorizer({ entitlements, clock }: Pick<OcppPorts, 'entitlements' | 'clock'>, policy: ConcurrencyPolicy) {
  /** The IdTagInfo for an idTag now, under `applied` (the configured single-session policy unless told). */
  async function idTagInfo(idTag: string, applied: ConcurrencyPolicy = policy): Promise<IdTagInfo> {
    return decideAuthorization(await entitlements.get(idTag), clock.now(), applied);
  }

  return {
    idTagInfo,

    async Authorize(_chargePointId: string, req: AuthorizeRequest): Promise<AuthorizeResponse> {
      return { idTagInfo: await idTagInfo(req.idTag) };
    },
  };
}

export type Authorizer = ReturnType<typeof createAuthorizer>;
