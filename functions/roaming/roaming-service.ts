import { RoamingCdrAccepted } from '../../events/billing-events.ts';
import { buildEvent, type EventData } from '../../events/contract.ts';
import type { SessionPriced } from '../../events/pricing-events.ts';
import type { Clock } from '../shared/clock.ts';
import { NotFoundError, ValidationError, VoltLedgerError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import { buildCdr, buildCreditCdr, cdrAmounts, type CdrPricedSession, type OcpiCdrDocument, type OcpiTariffDocument } from './domain/cdr.ts';
import { cdrSchemaErrors } from './domain/cdr-schema.ts';
import { classify, DEFAULT_RETRY_DELAYS_MS } from './domain/delivery.ts';
import type { CdrRecord, DeliveryAttempt, OcpiToken, RoamingPartner, RoamingPartnerInput, SiteLocation, SiteLocationInput } from './domain/model.ts';
import type { CdrPusher, EntitlementCache, RoamingEventPort, RoamingStore, SessionPriceReader, TariffReader, TariffRules } from './domain/ports.ts';
import { entitlementForToken } from './domain/tokens.ts';

/** Thrown when a CDR could not be delivered within one run: the caller (the event's redelivery, an operator) retries. */
export class CdrDeliveryError extends VoltLedgerError {}
/** Thrown when an operation does not fit the CDR's state (crediting a CDR the partner never accepted). */
export class CdrStateError extends VoltLedgerError {}
/** Thrown when a token would take over an idTag that is not this partner's. */
export class TokenConflictError extends VoltLedgerError {}

export interface RoamingDeps {
  store: RoamingStore;
  /** The entitlement cache (IDTAG records) Authorize reads. */
  entitlements: EntitlementCache;
  sessions: SessionPriceReader;
  tariffs: TariffReader;
  /** The OCPI export of a tariff and the repricing of a CDR (pricing's engine). */
  tariffRules: TariffRules;
  pusher: CdrPusher;
  events: RoamingEventPort;
  clock: Clock;
  log: Log;
  /** Waits between attempts; tests pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
  retryDelaysMs?: readonly number[];
}

/** The CDR id of a session's CDR: deterministic, so every retry names the same CDR (OCPI: at most 36). */
export const cdrIdFor = (sessionId: string) => `CDR-${sessionId}`.slice(0, 36);

const roamingPartnerOf = (data: EventData<typeof SessionPriced>): string | null => {
  const profile = data.billingProfile;
  return profile && profile.kind === 'roaming' && typeof profile.partnerId === 'string' ? profile.partnerId : null;
};

/**
 * Roaming (OCPI 2.2.1, CPO side): partners and their tokens in the entitlement cache, site
 * locations, and CDRs: built from the priced session, validated against the OCPI CDR schema,
 * stored once, pushed with retries (every answer recorded), announced as RoamingCdrAccepted once
 * accepted. A correction is a credit CDR; a CDR is never edited.
 */
export function createRoaming(deps: RoamingDeps) {
  const { store, events, clock, log } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const delays = deps.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;

  async function partner(partnerId: string): Promise<RoamingPartner> {
    const found = await store.getPartner(partnerId);
    if (!found) throw new NotFoundError(`roaming partner ${partnerId} does not exist`);
    return found;
  }

  async function currentTariff(tariffId: string) {
    const stored = await deps.tariffs.get(tariffId);
    if (!stored) throw new NotFoundError(`tariff ${tariffId} does not exist`);
    return { stored, exported: deps.tariffRules.exportToOcpi(stored.tariffJson) };
  }

  function acceptedEvent(record: CdrRecord) {
    return buildEvent(
      RoamingCdrAccepted,
      {
        cdrId: record.cdrId,
        partnerId: record.partnerId,
        sessionId: record.sessionId,
        credit: record.credit,
        ...(record.creditsCdrId ? { creditsCdrId: record.creditsCdrId } : {}),
        currency: record.currency,
        exclVatMinor: record.exclVatMinor,
        vatMinor: record.vatMinor,
        inclVatMinor: record.inclVatMinor,
        acceptedAt: record.acceptedAt!,
      },
      { id: `RoamingCdrAccepted:${record.cdrId}`, occurredAt: new Date(record.acceptedAt!), correlationId: record.sessionId },
    );
  }

  /** A CDR record from a built document; the CDR is checked against the schema and repriced first. */
  function recordOf(cdr: OcpiCdrDocument, fields: { partnerId: string; sessionId: string; creditsCdrId?: string; tariff?: OcpiTariffDocument; timeZone?: string }): CdrRecord {
    const problems = cdrSchemaErrors(cdr);
    if (problems.length) throw new ValidationError(`CDR ${cdr.id} breaks the OCPI 2.2.1 CDR schema: ${problems.join('; ')}`, 'cdr');
    let repricedTotal: CdrRecord['repricedTotal'];
    if (fields.tariff && fields.timeZone) {
      const repriced = deps.tariffRules.repriceCdr(fields.tariff, cdr, fields.timeZone);
      repricedTotal = { ...repriced, matches: Number(repriced.excl_vat) === cdr.total_cost.excl_vat && Number(repriced.incl_vat) === cdr.total_cost.incl_vat };
      if (!repricedTotal.matches) log.warn('a CDR reprices differently from its session', { cdrId: cdr.id, cdr: cdr.total_cost, repriced });
    }
    return {
      cdrId: cdr.id,
      partnerId: fields.partnerId,
      sessionId: fields.sessionId,
      credit: cdr.credit === true,
      ...(fields.creditsCdrId ? { creditsCdrId: fields.creditsCdrId } : {}),
      cdrJson: JSON.stringify(cdr),
      currency: cdr.currency,
      ...cdrAmounts(cdr),
      status: 'pending',
      createdAt: clock.now().toISOString(),
      attempts: 0,
      ...(repricedTotal ? { repricedTotal } : {}),
    };
  }

  /** Builds a session's CDR, or says why it cannot be built yet (held). */
  async function build(data: EventData<typeof SessionPriced>, found: RoamingPartner): Promise<CdrRecord> {
    const cdrId = cdrIdFor(data.sessionId);
    const held = (reason: string): CdrRecord => ({
      cdrId,
      partnerId: found.partnerId,
      sessionId: data.sessionId,
      credit: false,
      cdrJson: '',
      currency: data.currency,
      exclVatMinor: 0,
      vatMinor: 0,
      inclVatMinor: 0,
      status: 'held',
      reason,
      createdAt: clock.now().toISOString(),
      attempts: 0,
    });
    const published = new Set([...found.tariffIds, ...(found.tokenTariffId ? [found.tokenTariffId] : [])]);
    if (!published.has(data.tariff.tariffId)) return held(`tariff ${data.tariff.tariffId} is not published to partner ${found.partnerId} (tariffIds)`);
    if (!data.siteId) return held(`charge point ${data.chargePointId} has no siteId, so the CDR has no location`);
    const [location, token, price, storedTariff] = await Promise.all([
      store.getLocation(data.siteId),
      store.getToken(data.idTag),
      deps.sessions.getPrice(data.transactionId),
      deps.tariffs.get(data.tariff.tariffId, data.tariff.version),
    ]);
    if (!location) return held(`no OCPI location for site ${data.siteId} (PUT /admin/roaming/locations/${data.siteId})`);
    if (!token || token.partnerId !== found.partnerId) return held(`idTag ${data.idTag} is not an OCPI token of partner ${found.partnerId}`);
    if (!price) throw new Error(`session ${data.sessionId} is priced (SessionPriced) but its price is not stored`);
    if (!storedTariff) return held(`tariff ${data.tariff.tariffId} version ${data.tariff.version} is not stored`);
    const priced = JSON.parse(price.priceJson) as CdrPricedSession;
    const exported = deps.tariffRules.exportToOcpi(storedTariff.tariffJson).tariff;
    const cdr = buildCdr({
      cdrId,
      cpo: { countryCode: exported.country_code, partyId: exported.party_id },
      session: { sessionId: data.sessionId, chargePointId: data.chargePointId, connectorId: data.connectorId },
      token: token.token,
      location,
      priced,
      tariff: exported,
      lastUpdated: data.pricedAt,
    });
    return recordOf(cdr, { partnerId: found.partnerId, sessionId: data.sessionId, tariff: exported, timeZone: priced.timeZone });
  }

  /**
   * Pushes a stored CDR until the partner accepts or rejects it, waiting `retryDelaysMs` between
   * attempts; records every answer. Accepted: RoamingCdrAccepted is published (again, same id, on
   * every later call). Still failing after the last attempt: CdrDeliveryError (status `failed`).
   */
  async function deliver(cdrId: string, opts: { throwOnFailure: boolean }): Promise<CdrRecord> {
    const record = await store.getCdr(cdrId);
    if (!record) throw new NotFoundError(`CDR ${cdrId} does not exist`);
    if (record.status === 'accepted') {
      await events.publish([acceptedEvent(record)]);
      return record;
    }
    if (record.status === 'held' || record.status === 'rejected') return record;
    const found = await partner(record.partnerId);
    if (!found.active) return record;
    // One delivery at a time: the lease covers every attempt with its waits and timeouts.
    const leaseMs = delays.reduce((sum, d) => sum + d, 0) + delays.length * 15_000;
    const claimedAt = clock.now();
    if (!(await store.claimPush(cdrId, claimedAt.toISOString(), new Date(claimedAt.getTime() + leaseMs).toISOString()))) {
      const now = await store.getCdr(cdrId);
      if (now?.status === 'accepted') {
        await events.publish([acceptedEvent(now)]);
        return now;
      }
      // Another delivery is pushing it; if that one fails, its event is redelivered.
      log.info('CDR is being pushed by another delivery', { cdrId });
      return now ?? record;
    }
    try {
      return await pushWithRetries(record, found, opts);
    } finally {
      await store.releasePush(cdrId);
    }
  }

  async function pushWithRetries(record: CdrRecord, found: Awaited<ReturnType<typeof partner>>, opts: { throwOnFailure: boolean }): Promise<CdrRecord> {
    const cdrId = record.cdrId;
    for (const [index, delay] of delays.entries()) {
      if (delay > 0) await sleep(delay);
      const at = clock.now().toISOString();
      const attempt = await store.nextAttempt(cdrId, at);
      const answer = await deps.pusher.push(found.cdrsUrl, found.token, record.cdrJson);
      const outcome = classify(answer);
      const entry: DeliveryAttempt = {
        attempt,
        at,
        outcome,
        ...(answer.httpStatus !== undefined ? { httpStatus: answer.httpStatus } : {}),
        ...(answer.ocpiStatus !== undefined ? { ocpiStatus: answer.ocpiStatus } : {}),
        ...(answer.message ?? answer.error ? { message: answer.message ?? answer.error } : {}),
        ...(answer.location ? { location: answer.location } : {}),
      };
      await store.recordAttempt(cdrId, entry);
      if (outcome === 'accepted') {
        record = await store.setStatus(cdrId, 'accepted', { acceptedAt: at, ...(answer.location ? { partnerLocation: answer.location } : {}) });
        log.info('CDR accepted by roaming partner', { cdrId, partnerId: record.partnerId, attempt });
        await events.publish([acceptedEvent(record)]);
        return record;
      }
      if (outcome === 'rejected') {
        const reason = `partner answered HTTP ${answer.httpStatus}${answer.ocpiStatus !== undefined ? `, OCPI ${answer.ocpiStatus}` : ''}${answer.message ? `: ${answer.message}` : ''}`;
        log.error('CDR rejected by roaming partner', { cdrId, partnerId: record.partnerId, reason });
        return store.setStatus(cdrId, 'rejected', { reason });
      }
      log.warn('CDR delivery failed; will retry', { cdrId, attempt, answer, remaining: delays.length - index - 1 });
    }
    record = await store.setStatus(cdrId, 'failed', { reason: `no acceptance after ${delays.length} attempt(s); retried with the event's redelivery or POST /admin/roaming/cdrs/${cdrId}/push` });
    if (opts.throwOnFailure) throw new CdrDeliveryError(`CDR ${cdrId} was not accepted by partner ${record.partnerId} yet`);
    return record;
  }

  async function checkToken(partnerId: string, token: OcpiToken) {
    const found = await partner(partnerId);
    const entitlement = entitlementForToken(token, found, clock.now().toISOString());
    const existing = await deps.entitlements.get(token.uid);
    const existingPartner = existing?.billing?.kind === 'roaming' ? existing.billing.partnerId : undefined;
    if (existing && existingPartner !== partnerId) {
      throw new TokenConflictError(`idTag ${existing.idTag} is already ${existingPartner ? `a token of partner ${existingPartner}` : 'a local idTag'}; it is not taken over`);
    }
    return { entitlement, existing };
  }

  return {
    async putPartner(partnerId: string, input: RoamingPartnerInput): Promise<{ partner: RoamingPartner; created: boolean }> {
      const previous = await store.getPartner(partnerId);
      const record: RoamingPartner = { partnerId, ...input, updatedAt: clock.now().toISOString() };
      await store.putPartner(record);
      return { partner: record, created: !previous };
    },

    /** The partner without its credentials token. */
    async getPartner(partnerId: string) {
      const { token: _secret, ...rest } = await partner(partnerId);
      return { ...rest, hasToken: true };
    },

    /**
     * Stores a partner's OCPI token and writes it into the entitlement cache as an idTag. The same
     * token pushed again is the same write. An idTag that is a local card or another partner's token
     * is not taken over (TokenConflictError).
     */
    async putToken(partnerId: string, token: OcpiToken, path?: { countryCode: string; partyId: string; uid: string; type?: string }) {
      if (path && (path.countryCode.toUpperCase() !== token.country_code.toUpperCase() || path.partyId.toUpperCase() !== token.party_id.toUpperCase() || path.uid !== token.uid)) {
        throw new ValidationError('the token in the body does not match the country_code/party_id/uid of the path', 'uid');
      }
      if (path?.type && path.type !== token.type) throw new ValidationError(`type ${token.type} differs from ?type=${path.type}`, 'type');
      const { entitlement, existing } = await checkToken(partnerId, token);
      await store.putToken({ partnerId, token, updatedAt: entitlement.updatedAt });
      await deps.entitlements.put({ ...entitlement, ...(existing?.activeSession ? { activeSession: existing.activeSession } : {}) });
      return { token, entitlement };
    },

    /** Everything putToken checks, without writing: the idTag record it would write. */
    checkToken,

    async getToken(idTag: string) {
      const found = await store.getToken(idTag);
      if (!found) throw new NotFoundError(`no OCPI token for idTag ${idTag}`);
      return { ...found, entitlement: await deps.entitlements.get(idTag) };
    },

    async putLocation(siteId: string, input: SiteLocationInput): Promise<SiteLocation> {
      const record: SiteLocation = { siteId, ...input, updatedAt: clock.now().toISOString() };
      await store.putLocation(record);
      return record;
    },

    /**
     * The CPO tariffs published to a partner, as OCPI 2.2.1 Tariff objects (current versions), each
     * with what its VoltLedger extensions could not express.
     */
    async exportTariffs(partnerId: string) {
      const found = await partner(partnerId);
      const ids = [...new Set([...found.tariffIds, ...(found.tokenTariffId ? [found.tokenTariffId] : [])])];
      const tariffs = await Promise.all(
        ids.map(async (tariffId) => {
          const { stored, exported } = await currentTariff(tariffId);
          return { tariffId, version: stored.version, tariff: exported.tariff, dropped: exported.dropped };
        }),
      );
      return { partnerId, tariffs };
    },

    /** SessionPriced (roaming): the session's CDR, built, stored and pushed once; a no-op for other profiles. */
    async onSessionPriced(data: EventData<typeof SessionPriced>): Promise<CdrRecord | null> {
      const partnerId = roamingPartnerOf(data);
      if (!partnerId) return null;
      const found = await partner(partnerId);
      const cdrId = cdrIdFor(data.sessionId);
      let record = await store.getCdr(cdrId);
      if (!record) record = await store.createCdr(await build(data, found));
      else if (record.status === 'held') {
        const rebuilt = await build(data, found);
        if (rebuilt.status !== 'held' && (await store.replaceHeldCdr(rebuilt))) record = rebuilt;
      }
      if (record.status === 'held') {
        log.error('CDR held: it cannot be sent yet', { cdrId, reason: record.reason });
        return record;
      }
      return deliver(cdrId, { throwOnFailure: true });
    },

    /** Pushes a CDR again (after `failed`, or a partner that is active again); answers the record. */
    push(cdrId: string) {
      return deliver(cdrId, { throwOnFailure: false });
    },

    /**
     * Issues the credit CDR of an accepted CDR and pushes it: once (a second call answers the same
     * credit CDR). The original stays as it was.
     */
    async credit(cdrId: string, remark?: string): Promise<CdrRecord> {
      const original = await store.getCdr(cdrId);
      if (!original) throw new NotFoundError(`CDR ${cdrId} does not exist`);
      if (original.credit) throw new CdrStateError(`CDR ${cdrId} is itself a credit CDR`);
      const creditId = `${cdrId}-C`;
      if (original.creditedBy && original.creditedBy !== creditId) throw new CdrStateError(`CDR ${cdrId} was credited by ${original.creditedBy}`);
      if (original.status !== 'accepted') throw new CdrStateError(`CDR ${cdrId} is ${original.status}: only a CDR the partner accepted is credited (one it never accepted is simply not billed)`);
      const credit = buildCreditCdr(JSON.parse(original.cdrJson) as OcpiCdrDocument, clock.now().toISOString(), remark);
      await store.createCdr(recordOf(credit, { partnerId: original.partnerId, sessionId: original.sessionId, creditsCdrId: cdrId }));
      await store.markCredited(cdrId, creditId);
      return deliver(creditId, { throwOnFailure: false });
    },

    async getCdr(cdrId: string) {
      const record = await store.getCdr(cdrId);
      if (!record) throw new NotFoundError(`CDR ${cdrId} does not exist`);
      const { cdrJson, ...rest } = record;
      return { ...rest, cdr: cdrJson ? JSON.parse(cdrJson) : null, deliveries: await store.attempts(cdrId) };
    },

    async listCdrs(partnerId: string) {
      await partner(partnerId);
      return (await store.listCdrs(partnerId)).map(({ cdrJson: _doc, ...rest }) => rest);
    },
  };
}

export type Roaming = ReturnType<typeof createRoaming>;
