import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { measureDataPlaneH2, renderDataPlaneH2 } from "./data-plane-h2.ts";
import type { BenchMesh } from "./jibe-pair.ts";

describe("HTTP/2 data-plane benchmark without h2load", () => {
  const path = process.env.PATH;
  let bin: string | undefined;
  afterEach(async () => {
    process.env.PATH = path;
    if (bin) await rm(bin, { recursive: true, force: true });
  });

  it("is skipped with a note naming the Debian packages to install", async () => {
    // A PATH holding only a shell: no h2load, no haproxy.
    bin = await mkdtemp(join(tmpdir(), "jibe-bench-path-"));
    await symlink("/bin/sh", join(bin, "sh"));
    process.env.PATH = bin;
    // Nothing is started when a tool is missing, so no mesh is needed.
    const outcome = await measureDataPlaneH2({} as BenchMesh);
    const section = renderDataPlaneH2(outcome);
    expect(section).toContain("### HTTP/2 (h2c)");
    expect(section).toContain("skipped: h2load or HAProxy not installed");
    expect(section).toContain("`apt-get install nghttp2-client haproxy`");
    expect(section).not.toContain("| peer |");
  });
});
