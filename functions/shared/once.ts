/** Memoizes an async factory; a failed attempt is forgotten so the next invocation tries again. */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= build().catch((error) => {
      value = undefined;
      throw error;
    });
    return value;
  };
}
