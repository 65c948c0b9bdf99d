import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/run-cli.ts";
import type { ApplyOutcome, ResourceView } from "../plane/types.ts";
import type { ErrorBody } from "./http-errors.ts";
import { type AdminFixture, REVIEWS_V1, REVIEWS_V3, startAdminFixture } from "./test-fixture.ts";

/** `jibe rollback` against a real nats-server and control plane: a new validated write of a kept value. */
let fx: AdminFixture;

beforeAll(async () => {
  fx = await startAdminFixture();
}, 30_000);

afterAll(async () => {
  await fx?.stop();
});

async function apply(yaml: string): Promise<number> {
  const res = await fx.api("/api/v1/apply", { method: "POST", body: yaml, type: "application/yaml" });
  expect(res.status).toBe(200);
  return ((await res.json()) as ApplyOutcome).results[0]!.revision;
}

async function reviews(): Promise<ResourceView> {
  return (await (await fx.api("/api/v1/resources/vs/default/reviews")).json()) as ResourceView;
}

function subsetOf(view: ResourceView): unknown {
  return (view.resource.spec as { http: { route: { destination: { subset: string } }[] }[] }).http[0]
    ?.route[0]?.destination.subset;
}

async function jibe(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io = {
    env: {},
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    readStdin: async () => "",
  };
  const code = await runCli(["--admin-url", fx.cp.adminUrl, "--token", fx.cp.token, ...args], io);
  return { code, out, err };
}

describe("jibe rollback KIND NAME --to REVISION", () => {
  it("re-applies the kept value as a new revision, publishes it, and leaves a dry run unwritten", async () => {
    const v1 = await apply(REVIEWS_V1);
    const v3 = await apply(REVIEWS_V3);
    const eventsBefore = fx.events.length;

    const dry = await jibe("rollback", "vs", "reviews", "--to", String(v1), "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.out).toContain(
      `virtualservice.networking.istio.io/reviews configured (dry run) (from revision ${v1})`,
    );
    expect(subsetOf(await reviews())).toBe("v3");

    const run = await jibe("rollback", "vs", "reviews", "--to", String(v1));
    expect(run.code).toBe(0);
    expect(run.out).toContain(`virtualservice.networking.istio.io/reviews configured (from revision ${v1})`);
    const now = await reviews();
    expect(subsetOf(now)).toBe("v1");
    expect(now.revision).toBeGreaterThan(v3);
    expect(now.resource.metadata.generation).toBe(3);
    const events = await fx.waitForEvents(eventsBefore + 1);
    expect(events.at(-1)).toMatchObject({ type: "resource.applied", revision: now.revision });
  });

  it("refuses a delete marker and a revision that is not kept, with a clear error and no write", async () => {
    const deleted = await fx.api("/api/v1/resources/vs/default/reviews", { method: "DELETE" });
    const deletedAt = ((await deleted.json()) as { revision: number }).revision;
    const again = await apply(REVIEWS_V3);

    const res = await fx.api("/api/v1/resources/vs/default/reviews/rollback", {
      method: "POST",
      body: JSON.stringify({ revision: deletedAt }),
      type: "application/json",
    });
    expect(res.status).toBe(409);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe("conflict");
    expect(error.message).toContain(`revision ${deletedAt} of VirtualService/default/reviews is a delete`);

    const missing = await jibe("rollback", "vs", "reviews", "--to", "99999");
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain("VirtualService/default/reviews has no kept revision 99999");
    expect(missing.err).toContain("jibe history VirtualService reviews");
    expect((await reviews()).revision).toBe(again);

    const usage = await jibe("rollback", "vs", "reviews", "--to", "latest");
    expect(usage.code).not.toBe(0);
    expect(usage.err).toContain(
      '--to must be a revision from `jibe history vs reviews`, e.g. --to 12 (got "latest")',
    );

    const body = await fx.api("/api/v1/resources/vs/default/reviews/rollback", {
      method: "POST",
      body: "{}",
      type: "application/json",
    });
    expect(body.status).toBe(400);
    expect(((await body.json()) as ErrorBody).error.message).toContain(
      "body.revision must be a positive integer",
    );
  });

  it("recreates a deleted resource from a revision before its delete", async () => {
    const kept = await apply(REVIEWS_V1);
    await fx.api("/api/v1/resources/vs/default/reviews", { method: "DELETE" });
    expect((await fx.api("/api/v1/resources/vs/default/reviews")).status).toBe(404);
    const run = await jibe("rollback", "vs", "reviews", "--to", String(kept));
    expect(run.code).toBe(0);
    expect(run.out).toContain("virtualservice.networking.istio.io/reviews created");
    expect(subsetOf(await reviews())).toBe("v1");
  });
});
