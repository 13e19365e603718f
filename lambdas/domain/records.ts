/**
 * A record's own value for a key that came from a reply (a member's name): never one Object.prototype lends,
 * since `constructor` and `toString` are valid Patroni member names.
 */
export function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
