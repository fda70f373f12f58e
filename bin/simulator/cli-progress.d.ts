// cli-progress ships no types and @types/cli-progress is not installed; this declares the part the
// simulator uses, so strict tsc checks the calls instead of treating the module as `any`.
declare module 'cli-progress' {
  interface BarOptions {
    format?: string;
    stream?: NodeJS.WritableStream;
    hideCursor?: boolean | null;
    clearOnComplete?: boolean;
    barsize?: number;
    fps?: number;
  }
  class SingleBar {
    constructor(options: BarOptions, preset?: unknown);
    start(total: number, startValue: number, payload?: Record<string, unknown>): void;
    update(value: number, payload?: Record<string, unknown>): void;
    increment(delta?: number, payload?: Record<string, unknown>): void;
    stop(): void;
  }
  const Presets: { shades_classic: unknown; shades_grey: unknown; legacy: unknown; rect: unknown };
  export { SingleBar, Presets, type BarOptions };
  const cliProgress: { SingleBar: typeof SingleBar; Presets: typeof Presets };
  export default cliProgress;
}
