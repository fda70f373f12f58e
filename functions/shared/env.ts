import { ConfigurationError } from './errors.ts';

/** Settings by environment variable name: process.env on Lambda, the local stack's own record locally. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads a required environment variable once, failing with a message that names it. */
export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`environment variable ${name} is required but not set`);
  }
  return value;
}

/** Reads an optional integer environment variable, failing when it is set but not an integer. */
export function intFromEnv(name: string, fallback: number, env: Env = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) {
    throw new ConfigurationError(`environment variable ${name} must be an integer, got "${raw}"`);
  }
  return Number(raw);
}
