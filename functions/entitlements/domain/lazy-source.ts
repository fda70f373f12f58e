import type { SubscriptionSource } from './ports.ts';

/** A SubscriptionSource built on first use (its secrets are read then), and once. */
export function lazySubscriptionSource(build: () => Promise<SubscriptionSource>): SubscriptionSource {
  let source: Promise<SubscriptionSource> | undefined;
  const get = () => {
    source ??= build().catch((error) => {
      source = undefined;
      throw error;
    });
    return source;
  };
  return {
    retrieve: async (id) => (await get()).retrieve(id),
    listForCustomer: async (customerId) => (await get()).listForCustomer(customerId),
    async *list() {
      yield* (await get()).list();
    },
  };
}
