import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../test/support/wait-for.ts";
import { ISTIO_AUTHZ_EXAMPLES, jwtExample, SLEEP_FOO } from "../admin/authz-test-policies.ts";
import {
  type AdminFixture,
  ONE_BAD_OF_THREE,
  RATINGS_SERVICE,
  REVIEWS_RULE,
  REVIEWS_V1,
  REVIEWS_V3,
  startAdminFixture,
} from "../admin/test-fixture.ts";

const bin = join(dirname(fileURLToPath(import.meta.url)), "bin.ts");
let fx: AdminFixture;
let scratch: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a user whose shell names only what `env` gives (no stray JIBE_* from the test run). */
function userEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("JIBE_")));
  return { ...clean, ...env };
}

function jibe(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
  const env = userEnv(
    opts.env ?? { JIBE_ADMIN_URL: fx.cp.adminUrl, JIBE_TOKEN: fx.cp.token, JIBE_HOME: scratch },
  );
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(opts.stdin ?? "");
  });
}

async function file(name: string, text: string): Promise<string> {
  const path = join(scratch, name);
  await writeFile(path, text);
  return path;
}

beforeAll(async () => {
  fx = await startAdminFixture();
  scratch = await mkdtemp(join(tmpdir(), "jibe-cli-test-"));
});
afterAll(async () => {
  await fx?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("jibe CLI against a running control plane", () => {
  it("applies a multi-document file, kubectl-style, then reports unchanged", async () => {
    const bundle = await file("bundle.yaml", `${REVIEWS_RULE}---\n${RATINGS_SERVICE}---\n${REVIEWS_V1}`);
    const first = await jibe(["apply", "-f", bundle]);
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(first.stdout).toBe(
      [
        "destinationrule.networking.istio.io/reviews created",
        "service/ratings created",
        "virtualservice.networking.istio.io/reviews created",
        "",
      ].join("\n"),
    );
    const again = await jibe(["apply", "-f", bundle]);
    expect(again.stdout).toMatch(/^virtualservice\.networking\.istio\.io\/reviews unchanged$/m);
  });

  it("applies from stdin with -f -, together with a file", async () => {
    const v3 = await file("v3.yaml", REVIEWS_V3);
    const run = await jibe(["apply", "-f", "-", "-f", v3], { stdin: RATINGS_SERVICE });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      "service/ratings unchanged\nvirtualservice.networking.istio.io/reviews configured\n",
    );
  });

  it("gets a list as a table and one resource as YAML or JSON", async () => {
    const table = await jibe(["get", "vs"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+GENERATION\s+REVISION\s+AGE\nreviews\s+2\s+\d+\s+\d+s\n$/);
    const json = await jibe(["get", "virtualservice", "reviews", "-o", "json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      kind: "VirtualService",
      metadata: { name: "reviews", generation: 2 },
    });
    const yaml = await jibe(["get", "svc", "ratings", "-n", "bookinfo", "-o", "yaml"]);
    expect(yaml.stdout).toMatch(/^kind: Service$/m);
    const all = await jibe(["get", "svc", "-A"]);
    expect(all.stdout).toMatch(/^NAMESPACE\s+NAME/);
    expect(all.stdout).toMatch(/^bookinfo\s+ratings/m);
    const none = await jibe(["get", "we"]);
    expect(none).toMatchObject({ code: 0, stdout: "", stderr: "No resources found in default namespace.\n" });
  });

  it("shows history", async () => {
    const run = await jibe(["history", "vs", "reviews"]);
    expect(run.code, run.stderr).toBe(0);
    expect(
      run.stdout
        .split("\n")
        .slice(1, 3)
        .map((l) => l.split(/\s+/).slice(1, 3)),
    ).toEqual([
      ["PUT", "1"],
      ["PUT", "2"],
    ]);
  });

  it("refuses an invalid file with every error and applies nothing", async () => {
    const bad = await file("bad.yaml", ONE_BAD_OF_THREE.replace("namespace: bookinfo", "namespace: other"));
    const before = await jibe(["get", "svc", "-A", "-o", "json"]);
    const run = await jibe(["apply", "-f", bad]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${bad}: VirtualService/default/ratings: spec.hosts: `);
    expect(run.stderr).toMatch(/^error: 1 problem found; nothing was applied$/m);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect((await jibe(["get", "svc", "-A", "-o", "json"])).stdout).toBe(before.stdout);
  });

  it("deletes by name and by file; a missing resource is a clear error", async () => {
    const gone = await jibe(["delete", "vs", "reviews"]);
    expect(gone).toMatchObject({ code: 0, stdout: 'virtualservice.networking.istio.io "reviews" deleted\n' });
    const again = await jibe(["delete", "vs", "reviews"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("error: VirtualService/default/reviews not found\n");
    const byFile = await jibe(["delete", "-f", await file("rule.yaml", REVIEWS_RULE)]);
    expect(byFile).toMatchObject({
      code: 0,
      stdout: 'destinationrule.networking.istio.io "reviews" deleted\n',
    });
  });

  it("watch prints one line per event as it happens", async () => {
    const child: ChildProcess = spawn(process.execPath, [bin, "watch", "--kind", "vs"], {
      env: userEnv({ JIBE_ADMIN_URL: fx.cp.adminUrl, JIBE_TOKEN: fx.cp.token, JIBE_HOME: scratch }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await waitFor(() => stderr.includes("watching policy events"), {
        what: `watch to subscribe (${stderr})`,
      });
      const applied = await fx.api("/api/v1/apply", {
        method: "POST",
        body: REVIEWS_V1,
        type: "application/yaml",
      });
      expect(applied.status).toBe(200);
      await waitFor(() => stdout.includes("\n"), { what: "a watch line" });
      expect(stdout).toMatch(
        /^\d{4}-\d\d-\d\dT[\d:.]+Z\s+resource\.applied\s+VirtualService\/default\/reviews\s+revision=\d+ generation=\d+\n$/,
      );
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  });
});

describe("jibe CLI without (the right) control plane", () => {
  it("validates locally: exit 0 and `valid`, or exit 1 with every error as FILE: Kind/ns/name: path: message", async () => {
    const offline = { JIBE_ADMIN_URL: "http://127.0.0.1:9", JIBE_HOME: scratch };
    const good = await jibe(["validate", "-f", await file("good.yaml", REVIEWS_RULE)], { env: offline });
    expect(good).toMatchObject({ code: 0, stdout: "valid\n" });
    const badPath = await file("bad3.yaml", ONE_BAD_OF_THREE);
    const bad = await jibe(["validate", "-f", badPath], { env: offline });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      new RegExp(`^${badPath}: VirtualService/default/ratings: spec\\.hosts: .+$`, "m"),
    );
    const syntax = await jibe(
      ["validate", "-f", await file("syntax.yaml", "kind: x\nmetadata: {name: x\n")],
      { env: offline },
    );
    expect(syntax.code).toBe(1);
    expect(syntax.stdout).toMatch(/syntax\.yaml: line \d+, column \d+: YAML syntax error/);
    const dangling = await file(
      "dangling.yaml",
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: shop}\nspec: {hosts: ['*'], gateways: [shop-gw], http: [{route: [{destination: {host: web}}]}]}\n",
    );
    const warned = await jibe(["validate", "-f", dangling], { env: offline });
    expect(warned.code).toBe(0);
    expect(warned.stdout).toMatch(
      new RegExp(
        `^${dangling}: .*VirtualService/default/shop: spec\\.gateways\\[0\\]: warning: Gateway default/shop-gw does not exist`,
        "m",
      ),
    );
  });

  it("says how to fix an unreachable admin API, without a stack", async () => {
    const run = await jibe(["get", "vs"], {
      env: { JIBE_ADMIN_URL: "http://127.0.0.1:9", JIBE_HOME: scratch },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "error: cannot reach the Jibe admin API at http://127.0.0.1:9: is `npm start` running? " +
        "set JIBE_ADMIN_URL (or --admin-url) if it listens elsewhere\n",
    );
  });

  it("says the token was refused", async () => {
    const run = await jibe(["get", "vs", "--token", "wrong", "--admin-url", fx.cp.adminUrl], {
      env: { JIBE_HOME: scratch },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: the admin API at .* refused the credentials .*JIBE_TOKEN/);
  });

  it("finds the admin URL and token in $JIBE_HOME", async () => {
    const run = await jibe(["get", "svc", "-n", "bookinfo"], { env: { JIBE_HOME: fx.home } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ratings\s/m);
  });

  it("rejects usage errors with exit 1", async () => {
    const run = await jibe(["get"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/missing required argument 'kind'/);
    expect((await jibe(["apply"])).stderr).toMatch(/no input: give -f FILE/);
  });
});

describe("jibe authz check: may A call B?", () => {
  let goodToken = "";
  beforeAll(async () => {
    const jwt = await jwtExample();
    goodToken = jwt.goodToken;
    const run = await jibe(["apply", "-f", "-"], { stdin: `${ISTIO_AUTHZ_EXAMPLES}---\n${jwt.policy}` });
    expect(run.code, run.stderr).toBe(0);
  });
  const httpbin = (ns: string) => ["authz", "check", "--to-workload", "app=httpbin,version=v1", "-n", ns];

  it("exit 0 and the ALLOW policy and rule that decided", async () => {
    const run = await jibe([
      ...httpbin("foo"),
      "--from-principal",
      SLEEP_FOO,
      "--method",
      "GET",
      "--path",
      "/ip",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ALLOW \(/);
    expect(run.stdout).toContain(
      "decided by: AuthorizationPolicy/foo/httpbin-viewer rule 0: an ALLOW policy matched\n",
    );
  });

  it("exit 3 when denied by default (allow-nothing) and when a DENY wins over ALLOW-all", async () => {
    const nothing = await jibe([...httpbin("foo"), "--method", "POST"]);
    expect(nothing.code, nothing.stderr).toBe(3);
    expect(nothing.stdout).toMatch(
      /^DENY \(403 RBAC: access denied\)\ndecided by: ALLOW policies apply and none matched\n/,
    );
    const deny = await jibe([...httpbin("bar"), "--path", "/ip"]);
    expect(deny.code).toBe(3);
    expect(deny.stdout).toContain(
      "decided by: AuthorizationPolicy/bar/deny-method-get rule 0: a DENY policy matched\n",
    );
    const shadow = await jibe([
      "authz",
      "check",
      "--to-workload",
      "app=ratings",
      "-n",
      "bar",
      "--path",
      "/admin/x",
    ]);
    expect(shadow.code, shadow.stderr).toBe(0);
    expect(shadow.stdout).toContain(
      "dry-run: would DENY (AuthorizationPolicy/bar/dry-run-deny-admin rule 0: a DENY policy matched)\n",
    );
    const admin = await jibe([...httpbin("bar"), "--header", "x-token=admin", "-o", "json"]);
    expect(admin.code, admin.stderr).toBe(0);
    expect(JSON.parse(admin.stdout)).toMatchObject({
      allowed: true,
      match: { policy: "AuthorizationPolicy/bar/allow-all", rule: 0 },
    });
  });

  it("verifies --jwt, or takes --claims as verified", async () => {
    const jwt = await jibe([...httpbin("jwt"), "--jwt", goodToken]);
    expect(jwt.code, jwt.stdout + jwt.stderr).toBe(0);
    expect(jwt.stdout).toContain("request principal: testing@secure.istio.io/testing@secure.istio.io\n");
    const bad = await jibe([...httpbin("jwt"), "--jwt", "not-a-jwt"]);
    expect(bad.code).toBe(3);
    expect(bad.stdout).toMatch(/^DENY \(401 .*\)\ndecided by: RequestAuthentication: the JWT was rejected: /);
    const claims = await jibe([...httpbin("jwt"), "--claims", '{"iss":"other","sub":"x"}']);
    expect(claims.code).toBe(3);
  });

  it("usage errors exit 1 with the fix", async () => {
    const noTarget = await jibe(["authz", "check"]);
    expect(noTarget).toMatchObject({ code: 1 });
    expect(noTarget.stderr).toMatch(/^error: --to-workload is required/);
    const badLabels = await jibe(["authz", "check", "--to-workload", "httpbin"]);
    expect(badLabels.stderr).toMatch(/--to-workload "httpbin" is not name=value/);
    expect((await jibe(["authz", "explain"])).stderr).toMatch(/unknown authz action "explain"/);
  });
});
