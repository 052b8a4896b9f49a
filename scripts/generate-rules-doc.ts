import { writeFile } from "node:fs/promises";
import path from "node:path";
import { renderRulesDoc } from "../tools/validate/rules-doc.js";

// Regenerates docs/rules.md from the rule catalogue in tools/validate.
const target = path.resolve(import.meta.dirname, "../docs/rules.md");
await writeFile(target, renderRulesDoc());
process.stderr.write(`wrote ${path.relative(process.cwd(), target)}\n`);
