/**
 * The rules service: one compile adapter (SQL → CompiledRule or located diagnostics) shared by
 * startup, reload, the API and `sluice check`, and the bookkeeping between rule entries (from
 * files or the API) and the runtime's rule manager.
 */
import { ConfigErrors } from '../config/index.js';
import type { RuleCompiler, RuleEntry, RunningRule } from '../config/index.js';
import {
  bindRule,
  compileRule,
  compileRuleAsync,
  compileStatement,
  SqlError,
} from '../runtime/index.js';
import type {
  CompiledRule,
  FunctionServices,
  MessageContext,
  ParseResult,
  ParseSql,
  RuleInfo,
  RuleManager as RuntimeRuleManager,
  RuleSpec,
} from '../runtime/index.js';
import type { RuleInput } from './types.js';

type Services = FunctionServices;
type RuleManager = RuntimeRuleManager<MessageContext>;

/**
 * SQL → compiled rule, or the parser/planner diagnostics (never throws for bad SQL). `parsed`:
 * SQL already parsed (by the parse worker, for a hot reload); other SQL is parsed here.
 */
export function createCompiler(
  services: Services,
  parsed?: ReadonlyMap<string, ParseResult>,
): RuleCompiler<CompiledRule> {
  return (sql) => {
    try {
      const pre = parsed?.get(sql);
      if (pre !== undefined) {
        if (pre.ast === undefined) return { ok: false, diagnostics: pre.diagnostics };
        return { ok: true, rule: compileStatement(sql, pre.ast, { services }) };
      }
      return { ok: true, rule: compileRule(sql, { services }) };
    } catch (err) {
      if (err instanceof SqlError) return { ok: false, diagnostics: err.diagnostics };
      throw err;
    }
  };
}

export class RulesService {
  /** rule id → origin file ('' = API). */
  private readonly files = new Map<string, string>();

  constructor(
    private readonly manager: RuleManager,
    private readonly services: Services,
    private readonly hasSink: (name: string) => boolean,
    /** How `addAsync`/`updateAsync` parse (a ParseWorker's `parse`: long SQL off the loop). */
    private readonly parse?: ParseSql,
  ) {}

  /** Add or replace a rule from a config entry. */
  put(entry: RuleEntry, compiled: CompiledRule): void {
    this.manager.put(this.definition(entry, compiled));
    this.files.set(entry.id, entry.origin.file);
  }

  /** API: add a new rule. @throws rule_unknown_action, SqlError, rule_already_exists */
  add(rule: RuleInput): void {
    const { entry, compiled } = this.apiEntry(rule);
    this.manager.add(this.definition(entry, compiled));
    this.files.set(entry.id, '');
  }

  /** API: replace an existing rule. @throws rule_unknown_action, SqlError, rule_not_found */
  update(rule: RuleInput): void {
    const { entry, compiled } = this.apiEntry(rule);
    this.manager.update(this.definition(entry, compiled));
  }

  /**
   * API: `add`, with the SQL parsed through `parse` (a worker thread for long SQL), so creating
   * a large rule does not hold the event loop. `isNew` is asked again once the SQL is compiled:
   * another request may have created the id meanwhile.
   * @throws rule_unknown_action, SqlError, sql_parse_worker_failed, and what `isNew` throws
   */
  async addAsync(rule: RuleInput, isNew: () => void): Promise<void> {
    const { entry, compiled } = await this.apiEntryAsync(rule);
    isNew();
    this.manager.add(this.definition(entry, compiled));
    this.files.set(entry.id, '');
  }

  /** API: `update` through `parse`; `exists` is asked again once the SQL is compiled. */
  async updateAsync(rule: RuleInput, exists: () => void): Promise<void> {
    const { entry, compiled } = await this.apiEntryAsync(rule);
    exists();
    this.manager.update(this.definition(entry, compiled));
  }

  remove(id: string): void {
    this.manager.remove(id);
    this.files.delete(id);
  }

  has(id: string): boolean {
    return this.manager.has(id);
  }

  list(): RuleInfo[] {
    return this.manager.list();
  }

  /** What is running, in the reload planner's terms. */
  running(): RunningRule[] {
    return this.manager.list().map((i) => ({
      id: i.id,
      sql: i.sql,
      actions: i.actions,
      enabled: i.enabled,
      description: i.description,
      file: this.files.get(i.id) ?? '',
    }));
  }

  private definition(entry: RuleEntry, compiled: CompiledRule): RuleSpec<MessageContext> {
    return {
      id: entry.id,
      from: compiled.sources,
      compiled: bindRule(compiled, entry.id),
      actions: entry.actions,
      enabled: entry.enabled,
      description: entry.description,
      sql: entry.sql,
    };
  }

  private apiEntry(rule: RuleInput): { entry: RuleEntry; compiled: CompiledRule } {
    const actions = this.apiActions(rule);
    const compiled = compileRule(rule.sql, { services: this.services }); // throws SqlError
    return { entry: this.apiRuleEntry(rule, actions), compiled };
  }

  private async apiEntryAsync(
    rule: RuleInput,
  ): Promise<{ entry: RuleEntry; compiled: CompiledRule }> {
    const actions = this.apiActions(rule);
    const compiled = this.parse
      ? await compileRuleAsync(rule.sql, { services: this.services, parse: this.parse })
      : compileRule(rule.sql, { services: this.services }); // throws SqlError
    return { entry: this.apiRuleEntry(rule, actions), compiled };
  }

  private apiActions(rule: RuleInput): string[] {
    const actions = [...(rule.actions ?? [])];
    for (const a of actions)
      if (!this.hasSink(a))
        throw ConfigErrors.rule_unknown_action(
          `rule ${rule.id}: action ${JSON.stringify(a)} is not a configured sink`,
        );
    return actions;
  }

  private apiRuleEntry(rule: RuleInput, actions: string[]): RuleEntry {
    return {
      id: rule.id,
      sql: rule.sql,
      actions,
      enabled: rule.enabled ?? true,
      description: rule.description ?? '',
      origin: {
        file: '',
        fileText: rule.sql,
        path: '',
        lineOffset: 0,
        firstColumnOffset: 0,
        columnOffset: 0,
      },
      at: { line: 1, column: 1, path: '' },
    };
  }
}
