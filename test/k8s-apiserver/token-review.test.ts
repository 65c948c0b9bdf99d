import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiServerDouble, startApiServerDouble } from "./api-server.ts";
import { TOKEN_REVIEW_PATH } from "./token-review.ts";

/** The parts of a TokenReview answer (or Status) the tests read. */
interface ReviewBody {
  status: { authenticated?: boolean; error?: string; user?: object; audiences?: string[] };
}

let api: ApiServerDouble;
beforeAll(async () => {
  api = await startApiServerDouble({ token: "t0ken" });
  api.tokens.registerServiceAccountToken("sa-token", "shop", "cart", ["istio-ca"]);
});
afterAll(() => api.stop());

async function review(spec: object, bearer = "t0ken") {
  const response = await fetch(api.url + TOKEN_REVIEW_PATH, {
    method: "POST",
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec }),
  });
  return { status: response.status, body: (await response.json()) as ReviewBody };
}

describe("TokenReview on the API-server double", () => {
  it("authenticates a registered service-account token as kube-apiserver reports it", async () => {
    const { status, body } = await review({ token: "sa-token", audiences: ["istio-ca"] });
    expect(status).toBe(201);
    expect(body.status).toMatchObject({
      authenticated: true,
      user: {
        username: "system:serviceaccount:shop:cart",
        groups: expect.arrayContaining(["system:serviceaccounts:shop"]),
      },
      audiences: ["istio-ca"],
    });
  });

  it("does not authenticate unknown tokens or other audiences, and refuses a review without a token", async () => {
    expect((await review({ token: "nope" })).body.status).toEqual({
      user: {},
      error: "[invalid bearer token, service account token is not valid]",
    });
    const audience = await review({ token: "sa-token", audiences: ["vault"] });
    expect(audience.body.status.authenticated).toBeUndefined();
    expect(audience.body.status.error).toContain("invalid for the target audiences");
    expect((await review({})).status).toBe(422);
    expect((await review({ token: "sa-token" }, "wrong")).status).toBe(401);
  });
});
