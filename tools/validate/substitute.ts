/**
 * Flux post-build variable substitution, as kustomize-controller applies it
 * to each rendered object's YAML: `${VAR}` takes the variable's value,
 * `${VAR:=default}` and `${VAR:-default}` fall back to the default when the
 * variable is unset or empty, `${VAR=default}` and `${VAR-default}` only when
 * it is unset, and `$$` writes a literal `$` (so `$${VAR}` stays `${VAR}`).
 * A bare `$VAR` is left alone, which is how manifests keep shell variables.
 */

/** Variable names Flux accepts in `postBuild.substitute`. */
export const VARIABLE_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

export interface SubstitutionResult {
  text: string;
  /** Variables used without a value or default, in order of appearance. */
  undefinedNames: string[];
}

const EXPRESSION = /\$\$|\$\{([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[=-])([^}]*))?\}/g;

export function substitute(
  text: string,
  variables: ReadonlyMap<string, string>,
  keepUnknown = false,
): SubstitutionResult {
  const undefinedNames: string[] = [];
  const result = text.replace(
    EXPRESSION,
    (
      match,
      name: string | undefined,
      operator: string | undefined,
      fallback: string | undefined,
    ) => {
      if (match === "$$") return "$";
      if (name === undefined) return match;
      const value = variables.get(name);
      if (operator === undefined) {
        if (value === undefined) {
          undefinedNames.push(name);
          // With keepUnknown the value may exist at reconcile time (a
          // Secret outside git), so the expression stays for later checks.
          return keepUnknown ? match : "";
        }
        return value;
      }
      const unsetOrEmpty = value === undefined || value === "";
      const useDefault = operator.startsWith(":")
        ? unsetOrEmpty
        : value === undefined;
      return useDefault ? (fallback ?? "") : (value ?? "");
    },
  );
  return { text: result, undefinedNames };
}

/** True when the text holds an expression that substitution would change. */
export function hasExpression(text: string): boolean {
  return text.includes("${") || text.includes("$$");
}
