import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { buildInitContainer, buildProxyContainer } from "../../control/injector/sidecar-containers.ts";
import { installObjects } from "../k8s/install/render.ts";
import { PROFILE_NAMES, PROFILES } from "../k8s/install/values.ts";

// No registry is reachable here, so the image is never built in CI: these checks hold its paths to the repo.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dockerfile = readFileSync(join(ROOT, "infra/image/Dockerfile"), "utf8");
const entryScript = readFileSync(join(ROOT, "infra/image/jibe.sh"), "utf8");
const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"))
  .map(globToRegExp);
const packageJson = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
};

/** The final stage's instructions (after the last FROM). */
const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
const workdir = [...finalStage.matchAll(/^WORKDIR (\S+)$/gm)].at(-1)?.[1] ?? "/";
const copied = [...finalStage.matchAll(/^COPY (?!--from)(\S+) /gm)].map((m) => m[1] ?? "");

/** Where an absolute image path of the app lives in the repository (undefined: not under WORKDIR). */
function repoPath(imagePath: string): string | undefined {
  const rel = relative(workdir, imagePath.startsWith("/") ? imagePath : join(workdir, imagePath));
  return rel.startsWith("..") ? undefined : rel;
}

/** True when the file is in the image: under a COPY'd path and not excluded by .dockerignore. */
function inImage(rel: string): boolean {
  const copiedHere = copied.some((c) => rel === c || rel.startsWith(`${c}/`));
  const parts = rel.split("/");
  const excluded = parts.some((_, i) => ignored.some((re) => re.test(parts.slice(0, i + 1).join("/"))));
  return copiedHere && !excluded;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*\*\//g, "@@")
    .replace(/\*/g, "[^/]*")
    .replace(/@@/g, "(.*/)?");
  return new RegExp(`^${body}$`);
}

/** The script `jibe.sh` execs for `first second` (e.g. `proxy sidecar`), as a repository path. */
function dispatched(words: string): string | undefined {
  const match = new RegExp(`"${words}"\\)[^;]*?exec node "\\$APP/([^"]+)"`, "s").exec(entryScript);
  return match?.[1];
}

/** Files reachable by static imports from `entry` (type-only imports are erased at run time). */
function importClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (rel: string) => {
    if (files.has(rel)) return;
    files.add(rel);
    const text = readFileSync(join(ROOT, rel), "utf8");
    for (const m of text.matchAll(
      /^\s*(import|export)\s+(type\s)?[^;"]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm,
    )) {
      if (m[2]) continue;
      const spec = m[3] ?? m[4] ?? "";
      if (spec.startsWith(".")) visit(normalize(join(dirname(rel), spec)));
      else if (!spec.startsWith("node:"))
        packages.add(
          spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? ""),
        );
    }
  };
  visit(entry);
  return { files, packages };
}

describe("the container image", () => {
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(finalStage)?.[1] ?? "[]") as string[];

  it("is a multi-stage node:24-slim build of the runtime dependencies, running as uid 1337", () => {
    expect([...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])).toEqual([
      "node:24-slim",
      "node:24-slim",
    ]);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(finalStage).toMatch(/^USER 1337:1337$/m);
    expect(finalStage).toMatch(/apt-get install .*iptables/);
  });

  it("has an entry point and a `jibe` on PATH that exist and are executable", () => {
    const script = repoPath(entrypoint[0] ?? "");
    expect(script).toBe("infra/image/jibe.sh");
    expect(statSync(join(ROOT, script ?? "")).mode & 0o111).not.toBe(0);
    expect(inImage(script ?? "")).toBe(true);
    expect(finalStage).toContain(`ln -s ${entrypoint[0]} /usr/local/bin/jibe`);
  });

  it("runs what the manifests and the injected containers ask for, from files in the image", () => {
    const commands: string[][] = [];
    for (const profile of PROFILE_NAMES)
      for (const o of installObjects(PROFILES[profile]) as {
        spec?: {
          template?: { spec?: { containers?: { image: string; command?: string[]; args?: string[] }[] } };
        };
      }[])
        for (const c of o.spec?.template?.spec?.containers ?? [])
          if (c.image === PROFILES[profile].image)
            commands.push(c.command ?? [...entrypoint, ...(c.args ?? [])]);
    const proxy = buildProxyContainer({ image: "jibe", native: false, appProbers: "{}" }) as {
      args?: string[];
      lifecycle?: { postStart?: { exec?: { command?: string[] } } };
    };
    commands.push([...entrypoint, ...(proxy.args ?? [])]);
    commands.push(proxy.lifecycle?.postStart?.exec?.command ?? []);
    expect(commands).toContainEqual(["node", "control/plane/main.ts"]);
    for (const command of commands) {
      const [program, ...args] = command;
      let file: string | undefined;
      if (program === "node") file = repoPath(args[0] ?? "");
      else if (program === "jibe" || program === entrypoint[0])
        file = dispatched(args.slice(0, 2).join(" ")) ?? "control/cli/bin.ts";
      expect(file, command.join(" ")).toBeDefined();
      expect(existsSync(join(ROOT, file ?? "")), command.join(" ")).toBe(true);
      expect(inImage(file ?? ""), `${file} is copied and not .dockerignored`).toBe(true);
    }
    expect(dispatched("proxy sidecar")).toBe("workers/sidecar/main.ts");
    const init = buildInitContainer({ image: "jibe", rules: "" }) as { command?: string[] };
    expect(init.command?.[0]).toBe("/bin/sh");
  });

  it("needs only runtime dependencies and files the build context keeps, for every entry point", () => {
    const entries = [
      "control/plane/main.ts",
      "control/cli/bin.ts",
      "workers/sidecar/main.ts",
      "infra/image/proxy-wait.ts",
    ];
    for (const entry of entries) {
      const { files, packages } = importClosure(entry);
      for (const file of files) expect(inImage(file), `${entry} imports ${file}`).toBe(true);
      for (const name of packages)
        expect(packageJson.dependencies, `${entry} imports ${name}`).toHaveProperty([name]);
    }
  });

  it("dispatches `jibe` to the CLI (run here with the repository as the app directory)", async () => {
    const { stdout } = await promisify(execFile)("sh", [join(ROOT, "infra/image/jibe.sh"), "--help"], {
      env: { ...process.env, JIBE_APP_DIR: ROOT },
    });
    expect(stdout).toContain("Usage: jibe");
  });
});
