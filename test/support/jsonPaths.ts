/** A key or an index: one step into a JSON document. */
export type JsonStep = string | number;

/** Every path to a value in a JSON document (the document itself, each section, list and leaf), for fuzzing. */
export function jsonPaths(value: unknown, prefix: JsonStep[] = []): JsonStep[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, child]) => jsonPaths(child, [...prefix, key]))];
}

/** A copy of the document with the value at `path` replaced. */
export function replaceAt(document: unknown, path: readonly JsonStep[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(document) as Record<JsonStep, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<JsonStep, unknown>;
  node[path.at(-1)!] = replacement;
  return copy;
}
