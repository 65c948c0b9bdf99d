import { Hono } from "hono";
import { z } from "zod";
import { createJwksCache, type JwksCacheDeps } from "../../workers/engine/jwks-cache.ts";
import type { ControlPlane } from "../plane/types.ts";
import { type AuthzCheckRequest, checkAuthz } from "./authz-check.ts";
import { AdminHttpError } from "./http-errors.ts";

const labelsSchema = z.record(z.string(), z.string());

const checkSchema = z
  .object({
    target: z.object({ namespace: z.string().min(1).optional(), labels: labelsSchema.optional() }),
    source: z
      .object({ principal: z.string().min(1).optional(), ip: z.string().min(1).optional() })
      .optional(),
    request: z
      .object({
        protocol: z.enum(["http", "tcp"]).optional(),
        method: z.string().min(1).optional(),
        path: z.string().startsWith("/").optional(),
        host: z.string().min(1).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        headers: labelsSchema.optional(),
      })
      .optional(),
    jwt: z.string().min(1).optional(),
    claims: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((body) => body.jwt === undefined || body.claims === undefined, {
    message: "give either jwt (verified) or claims (taken as verified), not both",
    path: ["claims"],
  });

/**
 * `POST /authz/check`: "may A call B with this request?", answered from the current resources compiled
 * for the target workload (see `authz-check.ts`). JWKS for `jwt` checks are fetched through `fetch`
 * and cached like a proxy caches them.
 *
 * @example
 * ```ts
 * api.route("/", authzRoutes(plane, { fetch: (url, init) => fetch(url, init), now: Date.now }));
 * ```
 */
export function authzRoutes(plane: ControlPlane, deps: JwksCacheDeps): Hono {
  const jwks = createJwksCache(deps);
  return new Hono().post("/authz/check", async (c) => {
    const check = readCheck(await c.req.json().catch(() => undefined));
    const views = await plane.list();
    const revision = views.reduce((max, v) => Math.max(max, v.revision), 0);
    const result = await checkAuthz(
      views.map((v) => v.resource),
      revision,
      check,
      { jwks, now: deps.now },
    );
    return c.json(result);
  });
}

function readCheck(body: unknown): AuthzCheckRequest {
  if (body === undefined) throw new AdminHttpError("bad-request", 400, "the request body must be JSON");
  const parsed = checkSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join(".") || "body";
    throw new AdminHttpError("bad-request", 400, `${path}: ${issue.message}`);
  }
  const { target, source = {}, request = {}, jwt, claims } = parsed.data;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  const check: AuthzCheckRequest = {
    target: { namespace: target.namespace ?? "default", labels: target.labels ?? {} },
    source: {
      ...(source.principal !== undefined ? { principal: source.principal } : {}),
      ...(source.ip !== undefined ? { ip: source.ip } : {}),
    },
    request: {
      protocol: request.protocol ?? "http",
      method: request.method ?? "GET",
      path: request.path ?? "/",
      headers,
      ...(request.host !== undefined ? { host: request.host } : {}),
      ...(request.port !== undefined ? { port: request.port } : {}),
    },
  };
  if (jwt !== undefined) check.jwt = jwt;
  if (claims !== undefined) check.claims = claims;
  return check;
}
