import { request } from "node:http";
import type { Snapshot } from "../../control/compile/snapshot.ts";
import { type ExtAuthzTransport, extAuthzEndpoint } from "../engine/ext-authz.ts";

/** Authorizer answers larger than this are cut (a denial body is meant for humans). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * The sidecar's ext-authz transport: one HTTP/1.1 request (on its own connection) per check to an
 * endpoint of the provider's service (the snapshot cluster `outbound|<port>||<service>`, or
 * `service` itself when it is an IP address), giving up after the provider's timeout. Rejects on no endpoint, connection
 * failure or timeout; the engine turns that into `statusOnError` or fail-open.
 *
 * Limitation: the check is plaintext, straight to the endpoint (no mTLS to the authorizer).
 *
 * @example
 * ```ts
 * const transport = createExtAuthzTransport(() => policy.current().snapshot);
 * await checkExternally(provider, facts, transport);
 * ```
 */
export function createExtAuthzTransport(snapshot: () => Snapshot): ExtAuthzTransport {
  return (provider, check) =>
    new Promise((resolve, reject) => {
      const target = extAuthzEndpoint(snapshot(), provider);
      if (!target) {
        reject(new Error(`no endpoint for ${provider.service}:${provider.port}`));
        return;
      }
      const req = request(
        {
          host: target.address,
          port: target.port,
          method: check.method,
          path: check.path,
          headers: check.headers,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_BODY_BYTES) chunks.push(chunk);
          });
          res.on("error", reject);
          res.on("end", () => {
            clearTimeout(timer);
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(res.headers))
              if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
            resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString("utf8") });
          });
        },
      );
      const timer = setTimeout(
        () => req.destroy(new Error(`ext-authz ${provider.name} timed out after ${provider.timeoutMs} ms`)),
        provider.timeoutMs,
      );
      req.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end();
    });
}
