import type { IncomingHttpHeaders } from "node:http";

/**
 * Headers as single strings, repeated ones joined with `, ` (read-only views for matching and
 * telemetry). Usually nothing is repeated (node:http gives only `set-cookie` as an array), and the
 * object is then returned as it is: copying it for every request and response is a measurable cost.
 *
 * @example
 * ```ts
 * joinedHeaders({ accept: "text/html", "set-cookie": ["a=1", "b=2"] }); // { accept: "text/html", "set-cookie": "a=1, b=2" }
 * ```
 */
export function joinedHeaders(headers: IncomingHttpHeaders): Readonly<Record<string, string | undefined>> {
  let repeated = false;
  for (const name in headers)
    if (Array.isArray(headers[name])) {
      repeated = true;
      break;
    }
  if (!repeated) return headers as Readonly<Record<string, string | undefined>>;
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers))
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}
