export * from './contract.ts';
export * from './session-events.ts';
export * from './routing.ts';
