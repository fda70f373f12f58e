export * from './contract.ts';
export * from './session-events.ts';
export * from './routing.ts';
export * from './pricing-events.ts';
