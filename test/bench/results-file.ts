/**
 * RESULTS.md as a header plus `## ` sections. A run of some sections (JIBE_BENCH_ONLY) replaces
 * those sections and the header, and keeps the others as an earlier run wrote them.
 */

/** Splits markdown into the part before the first `## ` heading and the sections, by heading. */
export function splitSections(markdown: string): { header: string; sections: Map<string, string> } {
  const parts = markdown.split(/^(?=## )/m);
  const header = parts[0]?.startsWith("## ") ? "" : (parts.shift() ?? "");
  const sections = new Map<string, string>();
  for (const part of parts) sections.set(part.split("\n", 1)[0] ?? "", part.trimEnd());
  return { header, sections };
}

/**
 * The new RESULTS.md: `header`, then every section of `previous` in its place (replaced when this
 * run produced it), then this run's new sections.
 *
 * @example
 * ```ts
 * mergeResults("# R\n\n## A\nold\n\n## B\nold\n", "# R\n", ["## B\nnew\n"]);
 * // "# R\n\n## A\nold\n\n## B\nnew\n"
 * ```
 */
export function mergeResults(previous: string, header: string, fresh: readonly string[]): string {
  const out = splitSections(previous).sections;
  for (const section of fresh) {
    const { sections } = splitSections(section);
    for (const [title, text] of sections) out.set(title, text);
  }
  return `${[header.trimEnd(), ...out.values()].join("\n\n")}\n`;
}
