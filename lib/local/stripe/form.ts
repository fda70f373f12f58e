/**
 * Stripe's request encoding: `application/x-www-form-urlencoded` with bracket notation for nested
 * objects (`metadata[sessionId]=s1`) and arrays (`expand[]=latest_charge`, or the indexed
 * `payment_method_types[0]=card` the Node SDK sends). Values stay strings, as on the wire; each
 * handler coerces what it reads.
 */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

/** Parses a form-encoded body or query string into nested objects and arrays. */
export function parseForm(text: string): FormObject {
  const root: FormObject = {};
  if (!text) return root;
  for (const pair of text.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    const path = keyPath(rawKey);
    if (path.length === 0) continue;
    assign(root, path, value);
  }
  return normalizeArrays(root) as FormObject;
}

function decode(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '));
}

/** `a[b][0][]` -> ['a', 'b', '0', '']. */
function keyPath(key: string): string[] {
  const open = key.indexOf('[');
  if (open === -1) return [key];
  const parts = [key.slice(0, open)];
  const re = /\[([^\]]*)\]/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(key.slice(open))) !== null) parts.push(match[1]!);
  return parts;
}

type Node = { [key: string]: FormValue } | FormValue[];

function assign(target: Node, path: string[], value: string): void {
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(target)) {
    // `[]` appends; a numeric index is kept as a key until normalisation.
    if (rest.length === 0) {
      target.push(value);
      return;
    }
    const last = target[target.length - 1];
    const child: Node = head === '' && typeof last === 'object' && last !== null && !hasPath(last as Node, rest) ? (last as Node) : nodeFor(rest[0]!);
    if (child !== last) target.push(child as FormValue);
    assign(child, rest, value);
    return;
  }
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  let child = target[head];
  if (typeof child !== 'object' || child === null) {
    child = nodeFor(rest[0]!) as FormValue;
    target[head] = child;
  }
  assign(child as Node, rest, value);
}

function hasPath(node: Node, path: string[]): boolean {
  const key = path[0]!;
  return !Array.isArray(node) && key in node;
}

function nodeFor(nextKey: string): Node {
  return nextKey === '' ? [] : {};
}

/** Objects whose keys are all array indexes (`a[0]`, `a[1]`) become arrays, in index order. */
function normalizeArrays(value: FormValue): FormValue {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(normalizeArrays);
  const keys = Object.keys(value);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => normalizeArrays(value[k]!));
  }
  const out: FormObject = {};
  for (const k of keys) out[k] = normalizeArrays(value[k]!);
  return out;
}
