import { mapWithConcurrency } from './stats.ts';

/** A charge point the simulator may drive: its identity and the power it can deliver. */
export interface SimulatorChargePoint {
  chargePointId: string;
  maxPowerKw: number;
}

export interface ProvisioningOptions {
  /** Base URL of the admin API, e.g. `http://127.0.0.1:8080/admin`. */
  adminUrl: string;
  adminToken: string;
  count: number;
  /** Basic-auth password every simulated charge point gets (OCPP: 16 to 40 characters). */
  password: string;
  idTag: string;
  /** Tariff for the charge points; by default the demo tariff when the stack has it, else none. */
  tariffId?: string;
  /** Admin requests in flight at once (each new password costs the server one scrypt hash). */
  concurrency?: number;
}

/** The identity of the i-th simulated charge point (1-based): SIM-0001, SIM-0002, ... */
export function simulatedChargePointId(index: number): string {
  return `SIM-${String(index).padStart(4, '0')}`;
}

/** A tariff id the demo seed creates; used when the stack has it so simulated sessions get priced. */
const DEMO_TARIFF_ID = 'DEMO-TOU';

/** Why a simulator-created idTag is free: simulated drivers have no means of payment. */
export const SIMULATED_DRIVER_REASON = 'simulated driver (voltledger simulate)';

/** Raised when the admin API refuses or fails a provisioning request. */
export class ProvisioningError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProvisioningError';
  }
}

/**
 * Creates (or updates) SIM-0001..SIM-nnnn through the admin API, with a mix of 22 kW AC and 150 kW
 * DC charge points, and makes sure the idTag exists: created `free` when missing (simulated drivers
 * have no card, and a card-paid tag without a payer is Blocked); an existing idTag is left as it is,
 * so the simulator never downgrades a seeded or hand-made one.
 */
export async function provisionChargePoints(options: ProvisioningOptions): Promise<SimulatorChargePoint[]> {
  const admin = adminClient(options.adminUrl, options.adminToken);
  const tariffId = options.tariffId ?? ((await admin('GET', `/tariffs/${DEMO_TARIFF_ID}`)).status === 200 ? DEMO_TARIFF_ID : undefined);

  const tag = await admin('GET', `/id-tags/${encodeURIComponent(options.idTag)}`);
  if (tag.status === 404) {
    // Simulated drivers have no card: a card-paid (retail) tag without a driver is answered Blocked
    // under the default OCPP_PAYERLESS_CARD_TAGS=block (docs/payments.md), so the tag is `free`:
    // still priced at the tariff (a zero total, booked as a free session), never charged to anyone.
    const created = await admin('PUT', `/id-tags/${encodeURIComponent(options.idTag)}`, { status: 'Accepted', billing: { kind: 'free', reason: SIMULATED_DRIVER_REASON } });
    if (created.status >= 300) throw new ProvisioningError(`could not create idTag ${options.idTag}: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  } else if (tag.status !== 200) {
    throw new ProvisioningError(`could not read idTag ${options.idTag}: HTTP ${tag.status} ${JSON.stringify(tag.body)}`);
  }

  const indexes = Array.from({ length: options.count }, (_, i) => i + 1);
  return mapWithConcurrency(indexes, options.concurrency ?? 8, async (index) => {
    const chargePointId = simulatedChargePointId(index);
    // Every fourth site has a DC fast charger; the rest are 22 kW AC posts.
    const maxPowerKw = index % 4 === 0 ? 150 : 22;
    const body = {
      password: options.password,
      timeZone: 'Europe/Berlin',
      siteId: `sim-site-${String(Math.ceil(index / 10)).padStart(3, '0')}`,
      maxPowerKw,
      ...(tariffId ? { tariffId } : {}),
    };
    const result = await admin('PUT', `/charge-points/${chargePointId}`, body);
    if (result.status !== 200 && result.status !== 201) {
      throw new ProvisioningError(`could not provision ${chargePointId}: HTTP ${result.status} ${JSON.stringify(result.body)}`);
    }
    return { chargePointId, maxPowerKw };
  });
}

function adminClient(adminUrl: string, token: string) {
  const base = adminUrl.replace(/\/+$/, '');
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ProvisioningError(`admin API at ${base} is not reachable (${(error as Error).message}); is the local stack running?`, { cause: error });
    }
    if (response.status === 401) throw new ProvisioningError(`admin API at ${base} refused the admin token (HTTP 401)`);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: keep the text for the error message.
    }
    return { status: response.status, body: parsed };
  };
}
