import "./catalogue.js";
import { allRules } from "./rules.js";

/** Renders the rule catalogue as the Markdown of docs/rules.md. */
export function renderRulesDoc(): string {
  const lines = [
    "# Validation rules",
    "",
    "Every rule `npm run validate` applies, grouped by what it looks at.",
    "Each finding names its rule id, so search this page for the id.",
    "This page is generated from the rule catalogue in tools/validate by",
    "`npx tsx scripts/generate-rules-doc.ts`; a test fails when it is out of date.",
    "",
  ];
  const groups = new Map<string, ReturnType<typeof allRules>[number][]>();
  for (const rule of allRules()) {
    const list = groups.get(rule.group) ?? [];
    list.push(rule);
    groups.set(rule.group, list);
  }
  for (const [group, rules] of groups) {
    lines.push(`## ${group}`, "");
    for (const rule of rules) {
      lines.push(
        `### \`${rule.id}\` (${rule.severity})`,
        "",
        `- Checks: ${rule.checks}`,
        `- Why: ${rule.why}`,
        `- Fix: ${rule.fix}`,
        "",
      );
    }
  }
  return lines.join("\n");
}
