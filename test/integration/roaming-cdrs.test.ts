import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as priceCli } from '../../bin/commands/price.ts';
import { DEMO_ROAMING } from '../../lib/local/seed-billing.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { admin, connectChargePoint, energySample, startTestStack, type ChargePointClient } from '../support/stack.ts';

// A roaming driver of the demo eMSP (token DEMO-ROAMING, pushed like OCPI Tokens) charges across
// the 22:00 tariff change and stays parked: the session is priced with the tariff as exported to
// the partner, turned into an OCPI 2.2.1 CDR, pushed to the local OCPI receiver and announced.

const schema = JSON.parse(readFileSync(new URL('../../functions/roaming/schema/cdr-2.2.1.schema.json', import.meta.url), 'utf8'));
const validateCdr = new Ajv({ allErrors: true, strict: false }).compile(schema);
const berlin = (isoLocal: string) => new Date(`${isoLocal}+01:00`).toISOString();

const token = (overrides: Record<string, unknown> = {}) => ({
  country_code: 'NL',
  party_id: 'EMS',
  uid: '04AABBCCDD',
  type: 'RFID',
  contract_id: 'NL-EMS-C00000001-A',
  issuer: 'Demo eMSP',
  valid: true,
  whitelist: 'ALWAYS',
  last_updated: '2026-11-01T00:00:00Z',
  ...overrides,
});

describe('roaming CDRs on the local stack', () => {
  let stack: LocalStack;
  const clients = new Map<string, ChargePointClient>();
  const published: any[] = [];
  const folder = mkdtempSync(join(tmpdir(), 'voltledger-roaming-'));

  async function chargePoint(id: string) {
    if (!clients.has(id)) clients.set(id, await connectChargePoint(stack, id));
    return clients.get(id)!;
  }

  /** Charges 21:30-22:20 (Berlin) across the 22:00 price change, parked until 22:40. */
  async function roamingSession(day: string, connectorId: number, idTag = DEMO_ROAMING.idTag): Promise<string> {
    const cp = await chargePoint('CP-001');
    const at = (time: string) => berlin(`${day}T${time}:00`);
    const start = await cp.call('StartTransaction', { connectorId, idTag, meterStart: 50_000, timestamp: at('21:30') });
    expect(start.idTagInfo.status).toBe('Accepted');
    const transactionId = start.transactionId;
    await cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: 'Charging', timestamp: at('21:30') });
    await cp.call('MeterValues', { connectorId, transactionId, meterValue: [energySample(at('21:50'), 53_000), energySample(at('22:05'), 55_500)] });
    await cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: 'SuspendedEV', timestamp: at('22:20') });
    await cp.call('StopTransaction', { transactionId, idTag, meterStop: 57_000, timestamp: at('22:25'), reason: 'Local' });
    await cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: 'Available', timestamp: at('22:40') });
    await stack.bus.drain();
    return `sess_${transactionId}`;
  }

  beforeAll(async () => {
    stack = await startTestStack({ roaming: { retryDelaysMs: [0, 0] } });
    stack.bus.subscribe((event: any) => published.push(event));
  });

  afterAll(async () => {
    await Promise.all([...clients.values()].map((c) => c.close({ force: true }).catch(() => undefined)));
    await stack?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  describe('tokens', () => {
    it('authorizes a partner token from the entitlement cache like any idTag, per valid and whitelist', async () => {
      const cp = await chargePoint('CP-002');
      const put = (t: Record<string, unknown>) => admin(stack, 'PUT', `/roaming/partners/DEMO-EMSP/tokens/NL/EMS/${t.uid}?type=RFID`, t);

      expect((await put(token())).status).toBe(200);
      expect(await cp.call('Authorize', { idTag: '04AABBCCDD' })).toEqual({ idTagInfo: { status: 'Accepted' } });
      const record = await admin(stack, 'GET', '/id-tags/04AABBCCDD');
      expect(record.body).toMatchObject({ status: 'Accepted', billing: { kind: 'roaming', partnerId: 'DEMO-EMSP' } });

      await put(token({ valid: false, last_updated: '2026-11-02T00:00:00Z' }));
      expect((await cp.call('Authorize', { idTag: '04AABBCCDD' })).idTagInfo.status).toBe('Blocked');

      await put(token({ uid: '04EEFF0011', whitelist: 'NEVER' }));
      expect((await cp.call('Authorize', { idTag: '04EEFF0011' })).idTagInfo.status).toBe('Invalid');
    });

    it('refuses a token that cannot be an OCPP idTag, belongs to another party, or would take over a local card', async () => {
      const tooLong = await admin(stack, 'PUT', '/roaming/partners/DEMO-EMSP/tokens/NL/EMS/0123456789ABCDEF01234', token({ uid: '0123456789ABCDEF01234' }));
      expect(tooLong).toMatchObject({ status: 400, body: { field: 'uid' } });
      const otherParty = await admin(stack, 'POST', '/roaming/partners/DEMO-EMSP/tokens', [token({ uid: 'AA01' }), token({ uid: 'AA02', party_id: 'XYZ' })]);
      expect(otherParty).toMatchObject({ status: 400, body: { field: '[1].party_id' } });
      expect((await admin(stack, 'GET', '/id-tags/AA01')).status).toBe(404); // nothing written
      const local = await admin(stack, 'PUT', '/roaming/partners/DEMO-EMSP/tokens/NL/EMS/DEMO-RETAIL', token({ uid: 'DEMO-RETAIL' }));
      expect(local.status).toBe(409);
    });
  });

  describe('CDRs', () => {
    let sessionId: string;
    let cdr: any;

    beforeAll(async () => {
      sessionId = await roamingSession('2026-11-10', 1);
      cdr = stack.ocpiPartner!.accepted().find((c) => c.session_id === sessionId);
    });

    it('pushes an OCPI 2.2.1 CDR that validates against the CDR schema, with a period at every price change', async () => {
      expect(cdr).toBeDefined();
      expect(validateCdr(cdr), JSON.stringify(validateCdr.errors)).toBe(true);
      expect(cdr).toMatchObject({
        country_code: 'DE',
        party_id: 'VLT',
        id: `CDR-${sessionId}`,
        session_id: sessionId,
        auth_method: 'WHITELIST',
        currency: 'EUR',
        cdr_token: { country_code: 'NL', party_id: 'EMS', uid: 'DEMO-ROAMING', type: 'RFID', contract_id: 'NL-EMS-C12345678-X' },
        cdr_location: { id: 'berlin-mitte', country: 'DEU', evse_uid: 'CP-001-1', connector_id: '1', connector_standard: 'IEC_62196_T2' },
      });
      expect(cdr.tariffs.map((t: any) => t.id)).toEqual(['DEMO-TOU']);
      expect(cdr.tariffs[0].voltledger).toBeUndefined();
      // 21:30 day rate, 22:00 night rate, then parked from 22:20 (SuspendedEV) to 22:40.
      expect(cdr.charging_periods.map((p: any) => [p.start_date_time, p.dimensions.map((d: any) => d.type).join('+')])).toEqual([
        ['2026-11-10T20:30:00Z', 'ENERGY+TIME'],
        ['2026-11-10T21:00:00Z', 'ENERGY+TIME'],
        ['2026-11-10T21:20:00Z', 'PARKING_TIME'],
      ]);
      const energy = cdr.charging_periods.flatMap((p: any) => p.dimensions.filter((d: any) => d.type === 'ENERGY').map((d: any) => d.volume));
      expect(energy.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(cdr.total_energy, 4);
      expect(cdr.total_energy).toBe(7);
      expect(cdr.total_cost.incl_vat).toBeGreaterThan(cdr.total_cost.excl_vat);
    });

    it('prices the same as `voltledger price --cdr` on that CDR, and as the session was priced', async () => {
      const tariffFile = join(folder, 'tariff.json');
      const cdrFile = join(folder, 'cdr.json');
      writeFileSync(tariffFile, JSON.stringify(cdr.tariffs[0]));
      writeFileSync(cdrFile, JSON.stringify(cdr));
      const output: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((text: string) => void output.push(text));
      const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        expect(await priceCli(['--tariff', tariffFile, '--cdr', cdrFile, '--time-zone', 'Europe/Berlin'])).toBe(0);
      } finally {
        log.mockRestore();
        err.mockRestore();
      }
      const repriced = JSON.parse(output[0]!);
      const asNumbers = (p: { excl_vat: string; incl_vat: string }) => ({ excl_vat: Number(p.excl_vat), incl_vat: Number(p.incl_vat) });
      expect(asNumbers(repriced.total_cost)).toEqual(cdr.total_cost);
      expect(asNumbers(repriced.total_energy_cost)).toEqual(cdr.total_energy_cost);
      expect(asNumbers(repriced.total_parking_cost)).toEqual(cdr.total_parking_cost);

      const session = await admin(stack, 'GET', `/sessions/${sessionId}`);
      expect(session.body.price.totalMinor).toBe(repriced.totalMinor);
      const stored = await admin(stack, 'GET', `/roaming/cdrs/CDR-${sessionId}`);
      expect(stored.body).toMatchObject({ status: 'accepted', repricedTotal: { matches: true }, inclVatMinor: repriced.totalMinor });
    });

    it('records the partner answer and announces the acceptance once', async () => {
      const stored = await admin(stack, 'GET', `/roaming/cdrs/CDR-${sessionId}`);
      expect(stored.body.deliveries).toEqual([expect.objectContaining({ attempt: 1, httpStatus: 200, ocpiStatus: 1000, outcome: 'accepted' })]);
      expect(stored.body.partnerLocation).toMatch(/\/ocpi\/emsp\/2\.2\.1\/cdrs\/CDR-/);
      const accepted = published.filter((e) => e['detail-type'] === 'RoamingCdrAccepted' && e.detail.data.sessionId === sessionId);
      expect(accepted).toHaveLength(1);
      expect(accepted[0].detail.data).toMatchObject({ cdrId: `CDR-${sessionId}`, partnerId: 'DEMO-EMSP', credit: false, currency: 'EUR', inclVatMinor: stored.body.inclVatMinor });
      expect(accepted[0].detail.data.exclVatMinor + accepted[0].detail.data.vatMinor).toBe(accepted[0].detail.data.inclVatMinor);
      const received = stack.ocpiPartner!.received().filter((r) => r.cdr.session_id === sessionId);
      expect(received[0]!.authorization).toBe(`Token ${Buffer.from(stack.ocpiPartner!.token).toString('base64')}`);
    });

    it('corrects with a credit CDR, once, and never edits the original', async () => {
      // A session of its own: crediting marks the original CDR and announces a credit for its session.
      const sessionId = await roamingSession('2026-11-13', 1);
      const cdr: any = stack.ocpiPartner!.accepted().find((c) => c.session_id === sessionId);
      expect(cdr).toBeDefined();
      const credit = await admin(stack, 'POST', `/roaming/cdrs/CDR-${sessionId}/credit`, { remark: 'meter replaced: session recalculated' });
      expect(credit.status).toBe(200);
      expect(credit.body).toMatchObject({ cdrId: `CDR-${sessionId}-C`, credit: true, creditsCdrId: `CDR-${sessionId}`, status: 'accepted' });
      const sent = stack.ocpiPartner!.accepted().find((c) => c.id === `CDR-${sessionId}-C`)!;
      expect(validateCdr(sent), JSON.stringify(validateCdr.errors)).toBe(true);
      expect(sent).toMatchObject({ credit: true, credit_reference_id: cdr.id, total_cost: { excl_vat: -cdr.total_cost.excl_vat, incl_vat: -cdr.total_cost.incl_vat }, charging_periods: cdr.charging_periods });

      const again = await admin(stack, 'POST', `/roaming/cdrs/CDR-${sessionId}/credit`, {});
      expect(again.body.cdrId).toBe(`CDR-${sessionId}-C`);
      expect(stack.ocpiPartner!.received().filter((r) => r.cdr.id === `CDR-${sessionId}-C`)).toHaveLength(1);
      const original = await admin(stack, 'GET', `/roaming/cdrs/CDR-${sessionId}`);
      expect(original.body.cdr).toEqual(cdr);
      expect(original.body.creditedBy).toBe(`CDR-${sessionId}-C`);
      const events = published.filter((e) => e['detail-type'] === 'RoamingCdrAccepted' && e.detail.data.credit);
      expect(new Set(events.map((e) => e.detail.metadata.id))).toEqual(new Set([`RoamingCdrAccepted:CDR-${sessionId}-C`]));
      expect(events[0].detail.data).toMatchObject({ creditsCdrId: `CDR-${sessionId}`, inclVatMinor: original.body.inclVatMinor });
    });

    it('retries a failing partner with backoff until it accepts, recording every answer', async () => {
      stack.ocpiPartner!.setMode('fail', 3);
      const failing = await roamingSession('2026-11-11', 2);
      const stored = await admin(stack, 'GET', `/roaming/cdrs/CDR-${failing}`);
      expect(stored.body.status).toBe('accepted');
      expect(stored.body.deliveries.map((d: any) => [d.httpStatus, d.outcome])).toEqual([
        [503, 'retry'],
        [503, 'retry'],
        [503, 'retry'],
        [200, 'accepted'],
      ]);
      expect(published.filter((e) => e['detail-type'] === 'RoamingCdrAccepted' && e.detail.data.sessionId === failing)).toHaveLength(1);
    });

    it('stops at a rejection (OCPI 2xxx): no acceptance, a person looks; a push after the fix is accepted', async () => {
      stack.ocpiPartner!.setMode('reject', 1);
      const rejected = await roamingSession('2026-11-12', 1);
      const stored = await admin(stack, 'GET', `/roaming/cdrs/CDR-${rejected}`);
      expect(stored.body).toMatchObject({ status: 'rejected', reason: expect.stringContaining('OCPI 2001') });
      expect(published.some((e) => e['detail-type'] === 'RoamingCdrAccepted' && e.detail.data.sessionId === rejected)).toBe(false);
      expect((await admin(stack, 'POST', `/roaming/cdrs/CDR-${rejected}/credit`, {})).status).toBe(409);
    });
  });

  it('exports the tariffs published to a partner as OCPI Tariffs, saying what could not be expressed', async () => {
    const exported = await admin(stack, 'GET', '/roaming/partners/DEMO-EMSP/tariffs');
    expect(exported.status).toBe(200);
    expect(exported.body.tariffs).toHaveLength(1);
    expect(exported.body.tariffs[0]).toMatchObject({ tariffId: 'DEMO-TOU', version: 1, tariff: { id: 'DEMO-TOU', country_code: 'DE', party_id: 'VLT' } });
    expect(exported.body.tariffs[0].tariff.voltledger).toBeUndefined();
    expect(exported.body.tariffs[0].dropped).toEqual([expect.stringContaining('voltledger.member_tiers (plus)')]);
    const partner = await admin(stack, 'GET', '/roaming/partners/DEMO-EMSP');
    expect(partner.body.token).toBeUndefined();
  });
});
