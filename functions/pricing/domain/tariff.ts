import { z } from 'zod';
import { validationErrorFrom } from '../../shared/errors.ts';
import { isKnownCurrency } from '../../shared/money.ts';
import { fractionDigits, numberToDecimalString } from '../../shared/decimal.ts';
import { instantOf } from '../../shared/time-zone.ts';

/**
 * The tariff model: an OCPI 2.2.1 Tariff object, validated strictly (an unknown or misspelt field
 * is an error, never ignored), plus VoltLedger's extensions kept apart in one top-level
 * `voltledger` object. See docs/pricing.md for the field-by-field meaning.
 */

const MAX_PRICE_DECIMALS = 6;
const MAX_PERCENT_DECIMALS = 4;
const MAX_QUANTITY_DECIMALS = 4;

function decimal(options: { min?: number; max?: number; decimals: number; what: string }) {
  let schema = z.number({ error: `${options.what} must be a number` });
  if (options.min !== undefined) schema = schema.min(options.min, `${options.what} must be >= ${options.min}`);
  if (options.max !== undefined) schema = schema.max(options.max, `${options.what} must be <= ${options.max}`);
  return schema.refine((value) => fractionDigits(numberToDecimalString(value)) <= options.decimals, {
    message: `${options.what} has more than ${options.decimals} decimal places`,
  });
}

const money = (what: string) => decimal({ min: 0, decimals: MAX_PRICE_DECIMALS, what });
const percent = (what: string) => decimal({ min: 0, max: 100, decimals: MAX_PERCENT_DECIMALS, what });
const quantity = (what: string) => decimal({ min: 0, decimals: MAX_QUANTITY_DECIMALS, what });
const seconds = (what: string) => z.number().int(`${what} must be a whole number of seconds`).min(0, `${what} must be >= 0`);

/** OCPI DateTime: RFC 3339, UTC; a missing zone designator means UTC. */
export const dateTime = (what: string) =>
  z.string().refine((text) => instantOf(text) !== null, `${what} must be an RFC 3339 date-time such as 2024-01-15T08:30:00Z`);

/** OCPI 2.2.1 TariffRestrictions regexes: `([0-1][0-9]|2[0-3]):[0-5][0-9]` and `YYYY-MM-DD`. */
const TIME_OF_DAY = /^([0-1][0-9]|2[0-3]):[0-5][0-9]$/;
const DATE = /^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;
const timeOfDay = (what: string) => z.string().regex(TIME_OF_DAY, `${what} must be HH:MM in 24-hour format, 00:00 to 23:59`);
const localDate = (what: string) =>
  z
    .string()
    .regex(DATE, `${what} must be a date YYYY-MM-DD`)
    .refine((text) => new Date(`${text}T00:00:00Z`).toISOString().startsWith(text), `${what} is not a real calendar date`);

export const DAYS_OF_WEEK = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

export const TARIFF_DIMENSIONS = ['ENERGY', 'FLAT', 'PARKING_TIME', 'TIME'] as const;
/** OCPI TariffDimensionType. */
export type TariffDimension = (typeof TARIFF_DIMENSIONS)[number];

/** OCPI 2.2.1 PriceComponent: `price` excl. VAT per unit, `vat` in percent (omitted: no VAT), `step_size` in Wh or seconds. */
export const PriceComponentSchema = z.strictObject({
  type: z.enum(TARIFF_DIMENSIONS, { error: `type must be one of ${TARIFF_DIMENSIONS.join(', ')}` }),
  price: money('price'),
  vat: percent('vat').optional(),
  step_size: z.number().int('step_size must be a whole number').min(0, 'step_size must be >= 0'),
});

/** OCPI 2.2.1 TariffRestrictions: all set restrictions must hold (logical AND) for the element to apply. */
export const TariffRestrictionsSchema = z.strictObject({
  start_time: timeOfDay('start_time').optional(),
  end_time: timeOfDay('end_time').optional(),
  start_date: localDate('start_date').optional(),
  end_date: localDate('end_date').optional(),
  min_kwh: quantity('min_kwh').optional(),
  max_kwh: quantity('max_kwh').optional(),
  min_current: quantity('min_current').optional(),
  max_current: quantity('max_current').optional(),
  min_power: quantity('min_power').optional(),
  max_power: quantity('max_power').optional(),
  min_duration: seconds('min_duration').optional(),
  max_duration: seconds('max_duration').optional(),
  day_of_week: z.array(z.enum(DAYS_OF_WEEK, { error: `day_of_week entries must be one of ${DAYS_OF_WEEK.join(', ')}` })).optional(),
  reservation: z.enum(['RESERVATION', 'RESERVATION_EXPIRES']).optional(),
});

/** OCPI 2.2.1 TariffElement. */
export const TariffElementSchema = z.strictObject({
  price_components: z.array(PriceComponentSchema).min(1, 'price_components must not be empty'),
  restrictions: TariffRestrictionsSchema.optional(),
});

/** OCPI 2.2.1 Price (`incl_vat` is optional in OCPI). */
export const PriceSchema = z.strictObject({
  excl_vat: money('excl_vat'),
  incl_vat: money('incl_vat').optional(),
});

const DisplayTextSchema = z.strictObject({
  language: z.string().length(2, 'language must be a 2-letter ISO 639-1 code'),
  text: z.string().max(512),
});

const EnergyMixSchema = z.strictObject({
  is_green_energy: z.boolean(),
  energy_sources: z
    .array(
      z.strictObject({
        source: z.enum(['NUCLEAR', 'GENERAL_FOSSIL', 'COAL', 'GAS', 'GENERAL_GREEN', 'SOLAR', 'WIND', 'WATER']),
        percentage: percent('percentage'),
      }),
    )
    .optional(),
  environ_impact: z
    .array(z.strictObject({ category: z.enum(['NUCLEAR_WASTE', 'CARBON_DIOXIDE']), amount: z.number().min(0) }))
    .optional(),
  supplier_name: z.string().max(64).optional(),
  energy_product_name: z.string().max(64).optional(),
});

/**
 * A membership tier's or fleet account's pricing: either its own list of tariff elements (same
 * OCPI semantics, replacing the tariff's `elements`) or a percentage off every OCPI price
 * component of the tariff. Not applied to the idle fee.
 */
export const PricingOverrideSchema = z
  .strictObject({
    description: z.string().max(255).optional(),
    elements: z.array(TariffElementSchema).min(1, 'elements must not be empty').optional(),
    discount_percent: decimal({ min: 0, max: 100, decimals: 2, what: 'discount_percent' }).optional(),
  })
  .check((ctx) => {
    const hasElements = ctx.value.elements !== undefined;
    const hasDiscount = ctx.value.discount_percent !== undefined;
    if (hasElements === hasDiscount) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        path: hasElements ? ['discount_percent'] : [],
        message: 'give exactly one of elements or discount_percent',
      });
    }
  });

/**
 * VoltLedger's idle fee: `price` per hour excl. VAT for time plugged in without drawing power,
 * once `grace_period` seconds have passed since the car stopped drawing power. `max_price`
 * caps the idle fee (excl. VAT) per session.
 */
export const IdleFeeSchema = z.strictObject({
  price: money('price'),
  vat: percent('vat').optional(),
  grace_period: seconds('grace_period'),
  step_size: z.number().int('step_size must be a whole number').min(0, 'step_size must be >= 0').optional(),
  max_price: money('max_price').optional(),
});

/** Everything OCPI cannot say, in one place so an export knows exactly what it drops. */
export const VoltLedgerExtensionSchema = z.strictObject({
  /** `TIME_BASED`: energy is measured and reported but never priced (jurisdictions that restrict per-kWh pricing). */
  pricing_mode: z.enum(['OCPI', 'TIME_BASED']).optional(),
  idle_fee: IdleFeeSchema.optional(),
  member_tiers: z.record(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'tier names are 1-64 letters, digits or _.:-'), PricingOverrideSchema).optional(),
  fleet_accounts: z.record(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'account ids are 1-64 letters, digits or _.:-'), PricingOverrideSchema).optional(),
});

/** OCPI 2.2.1 Tariff object plus the optional `voltledger` extension object. */
export const TariffSchema = z
  .strictObject({
    country_code: z.string().regex(/^[A-Za-z]{2}$/, 'country_code must be an ISO 3166 alpha-2 code'),
    party_id: z.string().regex(/^[A-Za-z0-9]{3}$/, 'party_id must be 3 characters'),
    id: z.string().min(1, 'id must not be empty').max(36, 'id is at most 36 characters'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as EUR')
      // ISO 4217 codes with a minor unit (functions/shared/money.ts), not the platform's Intl list: a
      // tariff's currency must have the minor unit the whole product rounds and books to.
      .refine((code) => isKnownCurrency(code), 'currency is not a known ISO 4217 code'),
    type: z.enum(['AD_HOC_PAYMENT', 'PROFILE_CHEAP', 'PROFILE_FAST', 'PROFILE_GREEN', 'REGULAR']).optional(),
    tariff_alt_text: z.array(DisplayTextSchema).optional(),
    tariff_alt_url: z.url().optional(),
    min_price: PriceSchema.optional(),
    max_price: PriceSchema.optional(),
    elements: z.array(TariffElementSchema).min(1, 'elements must not be empty'),
    start_date_time: dateTime('start_date_time').optional(),
    end_date_time: dateTime('end_date_time').optional(),
    energy_mix: EnergyMixSchema.optional(),
    last_updated: dateTime('last_updated'),
    voltledger: VoltLedgerExtensionSchema.optional(),
  })
  .check((ctx) => {
    for (const issue of semanticIssues(ctx.value)) ctx.issues.push({ code: 'custom', input: ctx.value, ...issue });
  });

export type PriceComponent = z.infer<typeof PriceComponentSchema>;
export type TariffRestrictions = z.infer<typeof TariffRestrictionsSchema>;
export type TariffElement = z.infer<typeof TariffElementSchema>;
export type Price = z.infer<typeof PriceSchema>;
export type IdleFee = z.infer<typeof IdleFeeSchema>;
export type PricingOverride = z.infer<typeof PricingOverrideSchema>;
export type VoltLedgerExtension = z.infer<typeof VoltLedgerExtensionSchema>;
/** A validated tariff (one version of it: the store versions tariffs, the model carries `id` and `last_updated`). */
export type Tariff = z.infer<typeof TariffSchema>;

type Path = Array<string | number>;

/** Rules across fields that a shape cannot express; each one names the field to fix. */
function semanticIssues(tariff: Tariff): Array<{ path: Path; message: string }> {
  const issues: Array<{ path: Path; message: string }> = [];
  const checkElements = (elements: TariffElement[], base: Path) => {
    elements.forEach((element, index) => {
      const seen = new Set<string>();
      element.price_components.forEach((component, componentIndex) => {
        if (seen.has(component.type)) {
          issues.push({
            path: [...base, index, 'price_components', componentIndex, 'type'],
            message: `a second ${component.type} component in the same element can never apply (only one per dimension is active)`,
          });
        }
        seen.add(component.type);
      });
      const r = element.restrictions;
      if (!r) return;
      const at = [...base, index, 'restrictions'];
      const ranges: Array<[keyof TariffRestrictions, keyof TariffRestrictions]> = [
        ['min_kwh', 'max_kwh'],
        ['min_current', 'max_current'],
        ['min_power', 'max_power'],
        ['min_duration', 'max_duration'],
      ];
      for (const [min, max] of ranges) {
        const low = r[min];
        const high = r[max];
        if (typeof low === 'number' && typeof high === 'number' && low >= high) {
          issues.push({ path: [...at, min], message: `${min} (${low}) must be below ${max} (${high}): the element could never apply` });
        }
      }
      if (r.start_date !== undefined && r.end_date !== undefined && r.start_date >= r.end_date) {
        issues.push({ path: [...at, 'start_date'], message: `start_date must be before end_date (end_date is exclusive): the element could never apply` });
      }
      r.day_of_week?.forEach((day, dayIndex) => {
        if (r.day_of_week!.indexOf(day) !== dayIndex) issues.push({ path: [...at, 'day_of_week', dayIndex], message: `${day} is listed twice` });
      });
      if (r.day_of_week?.length === 0) issues.push({ path: [...at, 'day_of_week'], message: 'day_of_week must not be empty: the element could never apply' });
    });
  };
  checkElements(tariff.elements, ['elements']);
  const overrides: Array<[string, Record<string, PricingOverride> | undefined]> = [
    ['member_tiers', tariff.voltledger?.member_tiers],
    ['fleet_accounts', tariff.voltledger?.fleet_accounts],
  ];
  for (const [field, record] of overrides) {
    for (const [key, override] of Object.entries(record ?? {})) {
      if (override.elements) checkElements(override.elements, ['voltledger', field, key, 'elements']);
    }
  }

  for (const limb of ['excl_vat', 'incl_vat'] as const) {
    const low = tariff.min_price?.[limb];
    const high = tariff.max_price?.[limb];
    if (low !== undefined && high !== undefined && low > high) {
      issues.push({ path: ['min_price', limb], message: `min_price.${limb} (${low}) is above max_price.${limb} (${high})` });
    }
  }
  // OCPI 2.2.1: a reservation element "can only have FLAT and TIME" dimensions.
  const checkReservation = (elements: TariffElement[], base: Path) => {
    elements.forEach((element, index) => {
      if (element.restrictions?.reservation === undefined) return;
      element.price_components.forEach((component, componentIndex) => {
        if (component.type !== 'FLAT' && component.type !== 'TIME') {
          issues.push({
            path: [...base, index, 'price_components', componentIndex, 'type'],
            message: `a reservation element can only have FLAT and TIME components (OCPI 2.2.1), not ${component.type}`,
          });
        }
      });
    });
  };
  checkReservation(tariff.elements, ['elements']);
  for (const [field, record] of overrides) {
    for (const [key, override] of Object.entries(record ?? {})) if (override.elements) checkReservation(override.elements, ['voltledger', field, key, 'elements']);
  }
  if (tariff.start_date_time && tariff.end_date_time && Date.parse(tariff.start_date_time) >= Date.parse(tariff.end_date_time)) {
    issues.push({ path: ['start_date_time'], message: 'start_date_time must be before end_date_time' });
  }

  if (tariff.voltledger?.pricing_mode === 'TIME_BASED') {
    const rejectEnergy = (elements: TariffElement[], base: Path) => {
      for (const [index, element] of elements.entries()) {
        for (const [componentIndex, component] of element.price_components.entries()) {
          if (component.type === 'ENERGY') {
            issues.push({
              path: [...base, index, 'price_components', componentIndex, 'type'],
              message: 'voltledger.pricing_mode is TIME_BASED: energy must not be priced',
            });
          }
        }
      }
    };
    rejectEnergy(tariff.elements, ['elements']);
    for (const [field, record] of overrides) {
      for (const [key, override] of Object.entries(record ?? {})) {
        if (override.elements) rejectEnergy(override.elements, ['voltledger', field, key, 'elements']);
      }
    }
  }
  return issues;
}

/**
 * Validates an OCPI 2.2.1 tariff (with the optional `voltledger` extension) and returns it typed.
 *
 * @throws ValidationError naming the first offending field, e.g. `elements[0].restrictions.day_of_week[1]`.
 * @example
 * const tariff = parseTariff(JSON.parse(body));
 */
export function parseTariff(json: unknown): Tariff {
  const result = TariffSchema.safeParse(json);
  if (!result.success) throw validationErrorFrom(result.error, 'tariff');
  return result.data;
}
