/**
 * Bind a compiled rule to its rule id for running on shared message contexts.
 *
 * The `metadata` column (spec rule-sql §7: `{rule_id}`) differs per rule while the message
 * context is shared by all rules of a message. Rules that read it get their own context with
 * the column added (only they pay for a second payload decode); the others run on the shared
 * context untouched. `SELECT *` does not include metadata (§4.1.4), so only explicit reads count.
 */
import type { CompiledRule } from './compile/index.js';
import { createMessageContext } from './message-context.js';
import type { MessageContext } from './message-context.js';
import type { ExecutableRule } from './operators/evaluate-rule.js';
import { columnsRead } from './plan/columns.js';

export function bindRule(compiled: CompiledRule, ruleId: string): ExecutableRule<MessageContext> {
  if (!columnsRead(compiled.plan).has('metadata')) return compiled;
  const metadata = Object.freeze({ rule_id: ruleId });
  const own = (ctx: MessageContext): MessageContext =>
    createMessageContext({ ...ctx.columns, metadata });
  return {
    run: (ctx) => compiled.run(own(ctx)),
    runTraced: (ctx, onWhere) => compiled.runTraced(own(ctx), onWhere),
    ...(compiled.passes ? { passes: compiled.passes } : {}),
  };
}
