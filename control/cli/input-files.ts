import { readFile } from "node:fs/promises";
import type { ResourceRef } from "../../broker/events.ts";
import type { Diagnostic } from "../compile/snapshot.ts";
import { internalKind, resolveKind } from "../model/kinds.ts";
import type { CliIo } from "./command.ts";
import { CliError } from "./errors.ts";

/** The documents of one `-f` file and what local validation found in them. */
export interface ResourceFile {
  /** As given (`-` is shown as `<stdin>`). */
  file: string;
  documents: unknown[];
  diagnostics: Diagnostic[];
}

/**
 * Reads every `-f` file (`-` = stdin, read once) and validates it locally with `control/model`, so errors
 * name their file and no control plane is needed to find them.
 *
 * @example
 * ```ts
 * const files = await readResourceFiles(["vs.yaml", "-"], io);
 * const errors = files.flatMap((f) => f.diagnostics.filter((d) => d.severity === "error"));
 * ```
 */
export async function readResourceFiles(files: readonly string[], io: CliIo): Promise<ResourceFile[]> {
  if (files.length === 0) throw new CliError("usage", "no input: give -f FILE (or -f - to read stdin)");
  if (files.filter((f) => f === "-").length > 1)
    throw new CliError("usage", "stdin (-f -) can be read only once");
  // Loaded here, not at the top: the model's schemas take a few hundred ms to build, and only the
  // commands that read files need them.
  const [{ parseDocuments }, { validateDocuments }] = await Promise.all([
    import("../model/parse.ts"),
    import("../model/validate.ts"),
  ]);
  const out: ResourceFile[] = [];
  for (const file of files) {
    const name = file === "-" ? "<stdin>" : file;
    const text = file === "-" ? await io.readStdin() : await readText(file);
    const parsed = parseDocuments(text, name);
    const validated = parsed.diagnostics.some((d) => d.severity === "error")
      ? { diagnostics: [] }
      : validateDocuments(parsed.documents);
    out.push({
      file: name,
      documents: parsed.documents,
      diagnostics: [...parsed.diagnostics, ...validated.diagnostics],
    });
  }
  return out;
}

/** One diagnostic and the file it came from. */
export interface FileProblem {
  file: string;
  diagnostic: Diagnostic;
}

/**
 * Every diagnostic of the files in order, each with its file, and how many of them are errors
 * (`apply` refuses and `validate` fails when there is any).
 *
 * @example
 * ```ts
 * const { problems, errors } = problemsOf(await readResourceFiles(["vs.yaml"], io));
 * ```
 */
export function problemsOf(files: readonly ResourceFile[]): { problems: FileProblem[]; errors: number } {
  const problems = files.flatMap((f) => f.diagnostics.map((diagnostic) => ({ file: f.file, diagnostic })));
  return { problems, errors: problems.filter((p) => p.diagnostic.severity === "error").length };
}

/** The refs named by raw documents (for `delete -f`: a document need not be valid to be deleted). */
export function refsOfDocuments(file: ResourceFile): ResourceRef[] {
  return file.documents.map((doc, index) => {
    const { apiVersion, kind, metadata } = (doc ?? {}) as {
      apiVersion?: unknown;
      kind?: unknown;
      metadata?: { name?: unknown; namespace?: unknown };
    };
    // A Gateway API `kind: Gateway` is stored as KubernetesGateway (see internalKind).
    const resolved = typeof kind === "string" ? resolveKind(internalKind(apiVersion, kind)) : undefined;
    if (!resolved || typeof metadata?.name !== "string") {
      throw new CliError(
        "input",
        `${file.file}: document ${index + 1} names no supported kind and metadata.name`,
      );
    }
    const namespace =
      typeof metadata.namespace === "string" && metadata.namespace ? metadata.namespace : "default";
    return { kind: resolved, namespace, name: metadata.name };
  });
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error);
    throw new CliError("input", `cannot read ${file}: ${reason}`, { cause: error });
  }
}
