/**
 * `${NAME}` / `${NAME:-default}` substitution in configuration values (secrets from the
 * environment). Only upper-case environment-style names are substituted
 * (`[A-Z_][A-Z0-9_]*`), so sink templates such as `${clientid}` or `${payload.temp}` pass
 * through untouched; `$${` writes a literal `${`.
 */

const PATTERN = /\$\$\{|\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g;

export interface Substitution {
  readonly value: string;
  /** Names referenced without a default that are not set. */
  readonly missing: readonly string[];
  /** True when the text contained a substitution (or an escape). */
  readonly changed: boolean;
}

export function substituteEnv(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): Substitution {
  const missing: string[] = [];
  let changed = false;
  const value = text.replace(
    PATTERN,
    (whole, name: string | undefined, dflt: string | undefined) => {
      changed = true;
      if (whole === '$${') return '${';
      const v = env[name as string];
      if (v !== undefined && v !== '') return v;
      if (dflt !== undefined) return dflt;
      if (v === '') return '';
      missing.push(name as string);
      return '';
    },
  );
  return { value, missing, changed };
}
