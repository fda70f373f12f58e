import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../../bin/commands/price.ts';
import examples from '../../fixtures/ocpi-2.2.1-examples.json' with { type: 'json' };

const fixtures = join(import.meta.dirname, '../../fixtures/pricing');
const TARIFF = join(fixtures, 'tou-tariff.json');
const SESSION = join(fixtures, 'session-across-22h.json');
const MEMBER = join(fixtures, 'member-plus-profile.json');

let stdout: string[];
let stderr: string[];
let dir: string;

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

beforeEach(() => {
  stdout = [];
  stderr = [];
  dir = mkdtempSync(join(tmpdir(), 'voltledger-price-'));
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void stdout.push(String(line)));
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => void stderr.push(String(line)));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('voltledger price', () => {
  describe('pricing', () => {
    it('prices an OCPP session file and prints the priced session as JSON, totals as excl/incl decimal strings', async () => {
      const code = await run(['--tariff', TARIFF, '--session', SESSION, '--time-zone', 'Europe/Berlin']);

      expect(code).toBe(0);
      const priced = JSON.parse(stdout.join('\n'));
      expect(priced.total_cost).toEqual({ excl_vat: '5.61', incl_vat: '6.67' });
      expect(priced.total_energy_cost).toEqual({ excl_vat: '3.11', incl_vat: '3.70' });
      expect(priced.total_fixed_cost).toEqual({ excl_vat: '0.50', incl_vat: '0.60' }); // 0.595 exactly, rounded half up
      expect(priced.total_parking_cost).toEqual({ excl_vat: '2.00', incl_vat: '2.38' });
      expect(priced.totalMinor).toBe(667);
      expect(priced.warnings.map((w: { code: string }) => w.code)).toEqual(['SAMPLES_OUT_OF_ORDER', 'DUPLICATE_SAMPLES', 'SAMPLE_GAP']);
    });

    it('applies a billing profile file', async () => {
      const code = await run(['--tariff', TARIFF, '--session', SESSION, '--time-zone', 'Europe/Berlin', '--billing-profile', MEMBER]);

      expect(code).toBe(0);
      expect(JSON.parse(stdout.join('\n')).total_cost).toEqual({ excl_vat: '4.89', incl_vat: '5.81' });
    });

    it('prices an OCPI CDR as given', async () => {
      const vector = (examples as unknown as { vectors: Array<{ id: string; tariff: unknown; cdr: unknown }> }).vectors.find((v) => v.id === 'A12')!;

      const code = await run(['--tariff', file('t.json', vector.tariff), '--cdr', file('c.json', vector.cdr), '--time-zone', 'Europe/Berlin']);

      expect(code).toBe(0);
      expect(JSON.parse(stdout.join('\n')).total_cost).toEqual({ excl_vat: '9.00', incl_vat: '10.30' });
      expect(stderr).toEqual([]);
    });

    it('reads time of day in UTC without --time-zone, and says so', async () => {
      const code = await run(['--tariff', TARIFF, '--session', SESSION]);

      expect(code).toBe(0);
      expect(stderr.join('\n')).toMatch(/no --time-zone given/);
      expect(JSON.parse(stdout.join('\n')).timeZone).toBe('UTC');
    });
  });

  describe('bad input', () => {
    it.each([
      ['a missing file', () => ['--tariff', join(dir, 'nope.json'), '--session', SESSION], /cannot read the tariff file .*nope\.json: no such file/],
      ['a file that is not JSON', () => ['--tariff', file('bad.json', '{"id": '), '--session', SESSION], /tariff file .*bad\.json is not valid JSON/],
      [
        'an invalid tariff, naming the field',
        () => ['--tariff', file('t.json', { country_code: 'DE', party_id: 'VLT', id: 'X', currency: 'EUR', last_updated: '2024-01-01T00:00:00Z', elements: [{ price_components: [{ type: 'ENERGY', price: 0.3, step_size: 1 }], restrictions: { day_of_week: ['MONDY'] } }] }), '--session', SESSION],
        /tariff file .*t\.json: invalid tariff: elements\[0\]\.restrictions\.day_of_week\[0\]/,
      ],
      ['a session message that breaks the OCPP schema', () => ['--tariff', TARIFF, '--session', file('s.json', { startTransaction: { connectorId: 1, idTag: 'A', timestamp: '2024-01-01T00:00:00Z' }, meterValues: [], statusNotifications: [] })], /startTransaction is not a valid StartTransaction\.req: meterStart is required/],
      ['an unknown field in the session file', () => ['--tariff', TARIFF, '--session', file('s.json', { startTransaction: {}, meterValue: [] })], /unknown field "meterValue"/],
      ['an invalid CDR, naming the field', () => ['--tariff', TARIFF, '--cdr', file('c.json', { start_date_time: '2024-01-01T00:00:00Z', end_date_time: '2024-01-01T01:00:00Z', charging_periods: [{ start_date_time: '2024-01-01T00:00:00Z', dimensions: [{ type: 'KWH', volume: 1 }] }] })], /CDR file .*c\.json: invalid CDR: charging_periods\[0\]\.dimensions\[0\]\.type/],
      ['an invalid billing profile', () => ['--tariff', TARIFF, '--session', SESSION, '--billing-profile', file('p.json', { kind: 'vip' })], /billing profile file .*p\.json: invalid billing profile: kind/],
      ['an unknown time zone', () => ['--tariff', TARIFF, '--session', SESSION, '--time-zone', 'Mars/Olympus'], /--time-zone Mars\/Olympus is not an IANA time zone/],
    ])('reports %s on stderr and exits 1', async (_name, args, message) => {
      const code = await run(args());

      expect(code).toBe(1);
      expect(stdout).toEqual([]);
      expect(stderr.join('\n')).toMatch(message);
    });

    it.each([
      ['no --tariff', ['--session', SESSION]],
      ['both --cdr and --session', ['--tariff', TARIFF, '--cdr', SESSION, '--session', SESSION]],
      ['neither --cdr nor --session', ['--tariff', TARIFF]],
      ['an unknown option', ['--tariff', TARIFF, '--session', SESSION, '--tz', 'UTC']],
    ])('exits 2 with usage for %s', async (_name, args) => {
      const code = await run(args);

      expect(code).toBe(2);
      expect(stderr.join('\n')).toMatch(/usage|voltledger price --tariff/);
    });
  });
});
