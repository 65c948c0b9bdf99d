/**
 * RFC 6902 operations the injector emits (only `add` and `replace`), with RFC 6901 pointer escaping.
 *
 * @example
 * ```ts
 * const op: PatchOperation = { op: "add", path: pointer("metadata", "annotations", "sidecar.jibe.dev/status"), value: "{}" };
 * ```
 */
export type PatchOperation =
  | { op: "add"; path: string; value: unknown }
  | { op: "replace"; path: string; value: unknown };

/** A JSON pointer from path segments (`~` → `~0`, `/` → `~1`). */
export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}
