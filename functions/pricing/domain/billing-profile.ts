import { validationErrorFrom } from '../../shared/errors.ts';
import { BillingProfileSchema, type BillingProfile } from '../../../events/billing.ts';

export { BillingProfileSchema, type BillingProfile };

/**
 * Validates a billing profile snapshot.
 *
 * @throws ValidationError naming the offending field.
 */
export function parseBillingProfile(json: unknown): BillingProfile {
  const result = BillingProfileSchema.safeParse(json);
  if (!result.success) throw validationErrorFrom(result.error, 'billing profile');
  return result.data;
}
