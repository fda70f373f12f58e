import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LocalEventBus, type BusEvent, type LocalEventBusOptions } from '../../../lib/local/event-bus.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const clientFor = (endpoint: string) => new EventBridgeClient({ endpoint, region: 'eu-central-1', credentials, maxAttempts: 1 });

const entry = (overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  EventBusName: 'voltledger-local',
  Source: 'voltledger.ocpp',
  DetailType: 'SessionStarted',
  Detail: JSON.stringify({ metadata: { id: 'evt-1' }, data: { chargePointId: 'CP-001', energyWh: 0 } }),
  ...overrides,
});

const buses: LocalEventBus[] = [];
const dirs: string[] = [];
const clients: EventBridgeClient[] = [];

async function startBus(options: Partial<LocalEventBusOptions> & Pick<LocalEventBusOptions, 'targets'>) {
  const bus = new LocalEventBus({ rules: [], ...options });
  buses.push(bus);
  const { endpoint } = await bus.listen(0, '127.0.0.1');
  const client = clientFor(endpoint);
  clients.push(client);
  return { bus, client, endpoint };
}

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'voltledger-bus-'));
  dirs.push(dir);
  return dir;
}

/** A target that records what it receives. */
function recorder() {
  const received: BusEvent[] = [];
  const target = async (event: BusEvent) => {
    received.push(event);
  };
  return { received, target };
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('LocalEventBus', () => {
  describe('routing PutEvents from the real EventBridge client', () => {
    it('delivers to the targets of matching rules only, in EventBridge event shape', async () => {
      const pricing = recorder();
      const payments = recorder();
      const accounting = recorder();
      const { bus, client } = await startBus({
        rules: [
          { name: 'pricing-sessions', eventPattern: { source: ['voltledger.ocpp'], 'detail-type': ['SessionStarted', 'SessionStopped'] }, targets: ['pricing'] },
          { name: 'payments-priced', eventPattern: { source: ['voltledger.pricing'] }, targets: ['payments'] },
          { name: 'accounting-stopped', eventPattern: { 'detail-type': ['SessionStopped'] }, targets: ['accounting', 'pricing'] },
        ],
        targets: { pricing: pricing.target, payments: payments.target, accounting: accounting.target },
      });

      const time = new Date('2026-11-23T09:00:00.750Z');
      const result = await client.send(
        new PutEventsCommand({ Entries: [entry({ Time: time, Resources: ['arn:cp/CP-001'] }), entry({ DetailType: 'SessionStopped' })] }),
      );
      await bus.drain();

      expect(result.FailedEntryCount).toBe(0);
      expect(result.Entries).toHaveLength(2);
      expect(result.Entries!.every((e) => typeof e.EventId === 'string' && !e.ErrorCode)).toBe(true);
      expect(pricing.received.map((e) => e['detail-type']).sort()).toEqual(['SessionStarted', 'SessionStopped']);
      expect(accounting.received.map((e) => e['detail-type'])).toEqual(['SessionStopped']);
      expect(payments.received).toEqual([]);
      const started = pricing.received.find((e) => e['detail-type'] === 'SessionStarted')!;
      expect(started).toEqual({
        version: '0',
        id: result.Entries![0]!.EventId,
        'detail-type': 'SessionStarted',
        source: 'voltledger.ocpp',
        account: '000000000000',
        time: '2026-11-23T09:00:00Z',
        region: 'eu-central-1',
        resources: ['arn:cp/CP-001'],
        detail: { metadata: { id: 'evt-1' }, data: { chargePointId: 'CP-001', energyWh: 0 } },
      });
      // Pricing is the target of two matching rules for SessionStopped, yet receives it once.
      expect(bus.delivered).toBe(3);
    });

    it('answers PutEvents before any target has run', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const seen: string[] = [];
      const { bus, client } = await startBus({
        rules: [{ name: 'all', eventPattern: { source: ['voltledger.ocpp'] }, targets: ['slow'] }],
        targets: {
          slow: async (event) => {
            await gate;
            seen.push(event.id);
          },
        },
      });

      const result = await client.send(new PutEventsCommand({ Entries: [entry()] }));
      expect(seen).toEqual([]);
      release();
      await bus.drain();
      expect(seen).toEqual([result.Entries![0]!.EventId]);
    });

    it('tells subscribers about every accepted event, routed or not', async () => {
      const { bus, client } = await startBus({ targets: {} });
      const observed: BusEvent[] = [];
      const unsubscribe = bus.subscribe((event) => observed.push(event));
      await client.send(new PutEventsCommand({ Entries: [entry(), entry({ Detail: 'not json' })] }));
      unsubscribe();
      await client.send(new PutEventsCommand({ Entries: [entry()] }));
      expect(observed.map((e) => e.source)).toEqual(['voltledger.ocpp']);
      expect(bus.accepted).toBe(2);
    });
  });

  describe('validating entries like EventBridge', () => {
    it('fails bad entries one by one and accepts the others', async () => {
      const sink = recorder();
      const { bus, client } = await startBus({
        rules: [{ name: 'all', eventPattern: { source: [{ prefix: '' }] }, targets: ['sink'] }],
        targets: { sink: sink.target },
      });

      const result = await client.send(
        new PutEventsCommand({
          Entries: [
            entry({ Detail: '{"broken": ' }),
            entry({ Detail: '["an", "array"]' }),
            entry({ Source: undefined }),
            entry({ DetailType: undefined }),
            entry({ Detail: undefined }),
            entry(),
          ],
        }),
      );
      await bus.drain();

      expect(result.FailedEntryCount).toBe(5);
      expect(result.Entries!.map((e) => e.ErrorCode ?? 'ok')).toEqual(['MalformedDetail', 'MalformedDetail', 'InvalidArgument', 'InvalidArgument', 'InvalidArgument', 'ok']);
      expect(result.Entries![2]!.ErrorMessage).toContain('Source');
      expect(result.Entries![3]!.ErrorMessage).toContain('DetailType');
      expect(result.Entries![5]!.EventId).toBeTypeOf('string');
      expect(sink.received).toHaveLength(1);
    });

    it('rejects more than 10 entries in one call as a ValidationException', async () => {
      const { client } = await startBus({ targets: {} });
      const call = client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) }));
      await expect(call).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    });

    it('rejects a call over 256 KB as a ValidationException', async () => {
      const { bus, client } = await startBus({ targets: {} });
      const big = JSON.stringify({ blob: 'x'.repeat(140 * 1024) });
      const call = client.send(new PutEventsCommand({ Entries: [entry({ Detail: big }), entry({ Detail: big })] }));
      await expect(call).rejects.toMatchObject({ name: 'ValidationException', message: 'Total size of the entries in the request is over the limit.' });
      expect(bus.accepted).toBe(0);
    });
  });

  describe('retries and dead letters', () => {
    it('retries a failing target with exponential backoff, then delivers', async () => {
      const attempts: number[] = [];
      const { bus, client } = await startBus({
        rules: [{ name: 'all', eventPattern: { source: ['voltledger.ocpp'] }, targets: ['flaky'] }],
        targets: {
          flaky: async () => {
            attempts.push(Date.now());
            if (attempts.length < 3) throw new Error('temporarily down');
          },
        },
        baseDelayMs: 40,
      });

      await client.send(new PutEventsCommand({ Entries: [entry()] }));
      await bus.drain();

      expect(attempts).toHaveLength(3);
      expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(35);
      expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(75);
      expect(bus.delivered).toBe(1);
      expect(bus.deadLetters).toEqual([]);
    });

    it('dead-letters an event after maxAttempts, in memory and in dead-letters.jsonl', async () => {
      const dataDir = tempDir();
      let calls = 0;
      const { bus, client } = await startBus({
        rules: [{ name: 'all', eventPattern: { source: ['voltledger.ocpp'] }, targets: ['broken', 'fine'] }],
        targets: {
          broken: async () => {
            calls++;
            throw new TypeError('cannot price this');
          },
          fine: async () => undefined,
        },
        maxAttempts: 3,
        baseDelayMs: 5,
        dataDir,
      });

      const result = await client.send(new PutEventsCommand({ Entries: [entry()] }));
      await bus.drain();

      expect(calls).toBe(3);
      expect(bus.delivered).toBe(1);
      expect(bus.deadLetters).toHaveLength(1);
      expect(bus.deadLetters[0]).toMatchObject({ target: 'broken', attempts: 3, error: 'TypeError: cannot price this', event: { id: result.Entries![0]!.EventId } });
      const onDisk = readFileSync(join(dataDir, 'bus', 'dead-letters.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      expect(onDisk).toEqual([JSON.parse(JSON.stringify(bus.deadLetters[0]))]);
    });
  });

  describe('durability', () => {
    it('redelivers after a restart what was accepted but not delivered when the bus closed', async () => {
      const dataDir = tempDir();
      const first = await startBus({
        rules: [{ name: 'all', eventPattern: { source: ['voltledger.ocpp'] }, targets: ['pricing', 'ledger'] }],
        targets: {
          pricing: async () => {
            throw new Error('pricing is down');
          },
          ledger: async () => undefined,
        },
        baseDelayMs: 60_000,
        dataDir,
      });
      const accepted = await first.client.send(new PutEventsCommand({ Entries: [entry(), entry({ DetailType: 'SessionStopped' })] }));
      // Let the first attempts run: ledger succeeds, pricing fails and waits a minute for its retry.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(first.bus.delivered).toBe(2);
      await first.bus.close();

      const pricing = recorder();
      const ledger = recorder();
      const second = await startBus({
        rules: [{ name: 'all', eventPattern: { source: ['voltledger.ocpp'] }, targets: ['pricing', 'ledger'] }],
        targets: { pricing: pricing.target, ledger: ledger.target },
        dataDir,
      });
      await second.bus.drain();

      const ids = accepted.Entries!.map((e) => e.EventId).sort();
      expect(pricing.received.map((e) => e.id).sort()).toEqual(ids);
      // Ledger had its deliveries marked done, so the restart does not repeat them.
      expect(ledger.received).toEqual([]);
      await second.bus.close();

      // And a third start has nothing left to deliver.
      const third = recorder();
      const again = await startBus({
        rules: [{ name: 'all', eventPattern: { source: ['voltledger.ocpp'] }, targets: ['pricing'] }],
        targets: { pricing: third.target },
        dataDir,
      });
      await again.bus.drain();
      expect(third.received).toEqual([]);
    });

    it('loses nothing it acknowledged when its process is killed with SIGKILL', async () => {
      const dataDir = tempDir();
      const script = fileURLToPath(new URL('./fixtures/bus-process.ts', import.meta.url));
      const child = spawn(process.execPath, ['--import', 'tsx', script, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const endpoint = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          const line = out.split('\n')[0];
          if (out.includes('\n') && line) resolve((JSON.parse(line) as { endpoint: string }).endpoint);
        });
        child.once('exit', (code) => reject(new Error(`bus process exited early (${code})`)));
      });
      const client = clientFor(endpoint);
      clients.push(client);
      const acknowledged: string[] = [];
      for (let i = 0; i < 3; i++) {
        const result = await client.send(new PutEventsCommand({ Entries: [entry(), entry({ DetailType: 'SessionStopped' })] }));
        expect(result.FailedEntryCount).toBe(0);
        acknowledged.push(...result.Entries!.map((e) => e.EventId!));
      }
      child.kill('SIGKILL');
      await exited;

      const pricing = recorder();
      const { bus } = await startBus({
        rules: [{ name: 'all', eventPattern: { source: ['voltledger.ocpp'] }, targets: ['hangs'] }],
        targets: { hangs: pricing.target },
        dataDir,
      });
      await bus.drain();
      expect(pricing.received.map((e) => e.id).sort()).toEqual(acknowledged.sort());
    });
  });

  describe('chaos for idempotency tests', () => {
    it('delivers every event twice when asked', async () => {
      const sink = recorder();
      const { bus, client } = await startBus({
        rules: [{ name: 'all', eventPattern: { source: ['voltledger.ocpp'] }, targets: ['sink'] }],
        targets: { sink: sink.target },
        chaos: { duplicateEveryDelivery: true },
      });
      const result = await client.send(new PutEventsCommand({ Entries: [entry(), entry()] }));
      await bus.drain();
      const ids = result.Entries!.map((e) => e.EventId!);
      expect(sink.received.map((e) => e.id).sort()).toEqual([...ids, ...ids].sort());
    });

    it('delivers out of publication order when shuffling', async () => {
      const sink = recorder();
      const { bus, client } = await startBus({
        rules: [{ name: 'all', eventPattern: { source: ['voltledger.ocpp'] }, targets: ['sink'] }],
        targets: { sink: sink.target },
        chaos: { shuffle: true },
      });
      const published: string[] = [];
      for (let i = 0; i < 5; i++) {
        const result = await client.send(new PutEventsCommand({ Entries: Array.from({ length: 10 }, (_, n) => entry({ Detail: JSON.stringify({ n: i * 10 + n }) })) }));
        published.push(...result.Entries!.map((e) => e.EventId!));
      }
      await bus.drain();
      const order = sink.received.map((e) => e.id);
      expect([...order].sort()).toEqual([...published].sort());
      expect(order).not.toEqual(published);
    });
  });
});
