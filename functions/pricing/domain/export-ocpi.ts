import type { Tariff } from './tariff.ts';

/** An OCPI 2.2.1 Tariff: a VoltLedger tariff without its `voltledger` extension object. */
export type OcpiTariff = Omit<Tariff, 'voltledger'>;

/** The result of {@link exportTariffToOcpi}: what partners receive, and what they do not. */
export interface OcpiExport {
  tariff: OcpiTariff;
  /** One sentence per extension that OCPI cannot say and that the export therefore drops. */
  dropped: string[];
}

/**
 * The tariff as OCPI 2.2.1 can say it, for eMSPs and roaming hubs. Every VoltLedger extension
 * is removed and named in `dropped`, so the caller can tell the operator (or refuse to publish).
 *
 * @example
 * const { tariff, dropped } = exportTariffToOcpi(parseTariff(json));
 * if (dropped.length) log.warn('tariff exported lossily', { dropped });
 */
export function exportTariffToOcpi(tariff: Tariff): OcpiExport {
  const { voltledger, ...ocpi } = tariff;
  const dropped: string[] = [];
  if (voltledger?.idle_fee) {
    const fee = voltledger.idle_fee;
    const cap = fee.max_price === undefined ? '' : `, capped at ${fee.max_price} ${tariff.currency}`;
    dropped.push(
      `voltledger.idle_fee (${fee.price} ${tariff.currency}/h after a ${fee.grace_period} s grace period${cap}): ` +
        'OCPI cannot express a grace period counted from when the car stops drawing power, so the idle fee is not exported',
    );
  }
  if (voltledger?.member_tiers && Object.keys(voltledger.member_tiers).length > 0) {
    dropped.push(
      `voltledger.member_tiers (${Object.keys(voltledger.member_tiers).sort().join(', ')}): ` +
        'membership pricing is VoltLedger-only; partners see the public elements',
    );
  }
  if (voltledger?.fleet_accounts && Object.keys(voltledger.fleet_accounts).length > 0) {
    dropped.push(
      `voltledger.fleet_accounts (${Object.keys(voltledger.fleet_accounts).sort().join(', ')}): ` +
        'fleet account pricing is VoltLedger-only; partners see the public elements',
    );
  }
  if (voltledger?.pricing_mode === 'TIME_BASED') {
    dropped.push('voltledger.pricing_mode TIME_BASED: OCPI has no such field; the exported elements price no energy, which says the same');
  }
  return { tariff: ocpi, dropped };
}
