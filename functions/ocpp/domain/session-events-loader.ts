/** The session event builders, loaded on the first publish (see session-events.ts). */
type SessionEvents = typeof import('./session-events.ts');

let loaded: Promise<SessionEvents> | undefined;

export function sessionEvents(): Promise<SessionEvents> {
  return (loaded ??= import('./session-events.ts'));
}
