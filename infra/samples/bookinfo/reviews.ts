import type { DownstreamClient } from "./downstream.ts";
import { answer, idFromPath, type SampleHandler, type ServiceIdentity } from "./sample-handler.ts";

const REVIEWS = [
  {
    reviewer: "Reviewer1",
    text: "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!",
  },
  {
    reviewer: "Reviewer2",
    text: "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.",
  },
];

/** Star colour by version, as in bookinfo: v1 shows no stars, v2 black, v3 red. */
const STAR_COLOR: Record<string, string> = { v2: "black", v3: "red" };

/**
 * reviews: `GET /reviews/<id>` → two reviews; v2 and v3 also call ratings (black / red stars), v1
 * does not. A ratings failure shows up as `ratings: { error: "ratings unavailable", ... }`.
 *
 * @example
 * ```ts
 * await reviewsHandler({ service: "reviews", version: "v3" }, client)(request);
 * // { service: "reviews", version: "v3", reviews: [...], ratings: { service: "ratings", ..., color: "red" } }
 * ```
 */
export function reviewsHandler(identity: ServiceIdentity, client: DownstreamClient): SampleHandler {
  const color = STAR_COLOR[identity.version];
  return async (request) => {
    const id = idFromPath(request.path, "/reviews");
    if (id === undefined) return undefined;
    if (!color) return answer(identity, { id, reviews: REVIEWS });
    const ratings = await client.forRequest(request.headers)("ratings", `/ratings/${id}`);
    return answer(identity, {
      id,
      reviews: REVIEWS,
      ratings: ratings.ok ? { ...ratings.body, color } : ratings.error,
    });
  };
}
