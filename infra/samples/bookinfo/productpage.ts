import type { DownstreamClient, DownstreamResult } from "./downstream.ts";
import { answer, type SampleHandler, type ServiceIdentity } from "./sample-handler.ts";

const PRODUCT = { id: 0, title: "The Comedy of Errors" };

/**
 * productpage: `GET /productpage` calls details and reviews (in parallel) and shows both, each
 * naming the instances that served it; a failed call shows as `{ error: "reviews unavailable",
 * status, flags }` instead of failing the page. Also `GET /api/v1/products[/<id>[/reviews|/ratings]]`.
 *
 * The signed-in user comes from the `end-user` header, or `?user=` / a `session` cookie, and is
 * sent on as `end-user` (what `virtual-service-reviews-test-v2.yaml` matches on).
 *
 * @example
 * ```ts
 * await productpageHandler({ service: "productpage", version: "v1" }, client)(request);
 * // { service: "productpage", version: "v1", user: "jason", details: {...}, reviews: { version: "v2", ratings: {...} } }
 * ```
 */
export function productpageHandler(identity: ServiceIdentity, client: DownstreamClient): SampleHandler {
  return async (request) => {
    const { path } = request;
    const user = endUser(request.headers, request.query);
    const call = client.forRequest({ ...request.headers, "end-user": user });
    if (path === "/productpage") {
      const [details, reviews] = await Promise.all([
        call("details", `/details/${PRODUCT.id}`),
        call("reviews", `/reviews/${PRODUCT.id}`),
      ]);
      return answer(identity, {
        product: PRODUCT,
        ...(user ? { user } : {}),
        details: shown(details),
        reviews: shown(reviews),
      });
    }
    if (path === "/api/v1/products") return { status: 200, body: [PRODUCT] };
    const match = /^\/api\/v1\/products\/(\d+)(\/reviews|\/ratings)?$/.exec(path);
    if (!match) return undefined;
    const id = Number(match[1]);
    const target = match[2] === "/reviews" ? "reviews" : match[2] === "/ratings" ? "ratings" : "details";
    const result = await call(target, `/${target}/${id}`);
    return result.ok
      ? { status: 200, body: result.body }
      : { status: result.error.status || 503, body: result.error };
  };
}

/** The signed-in user: `end-user` header, else `?user=`, else the `session` cookie. */
export function endUser(
  headers: Readonly<Record<string, string | undefined>>,
  query: URLSearchParams,
): string | undefined {
  const fromHeader = headers["end-user"];
  if (fromHeader) return fromHeader;
  const fromQuery = query.get("user");
  if (fromQuery) return fromQuery;
  const session = /(?:^|;\s*)session=([^;]+)/.exec(headers.cookie ?? "")?.[1];
  return session ? decodeURIComponent(session) : undefined;
}

function shown(result: DownstreamResult): Record<string, unknown> {
  return result.ok ? result.body : { ...result.error };
}
