/**
 * `jq(Program, Json[, TimeoutMs])`, spec §8.6: runs a jq program (real jq 1.7 in WebAssembly,
 * see jq-runner.ts) on a value or JSON text and returns the list of all outputs. Errors and
 * timeouts are BadArg; a call that finds the worker still loading and has no time left to wait
 * fails at once with `rule_budget_exceeded` (jq-runner.ts). The default timeout is EMQX's `jq_function_default_timeout` (10 s).
 */
import { SluiceError, decodeJson, encodeJson } from '../../core/index.js';
import { EvalSuspended } from '../async-eval.js';
import { JqNotReady } from './jq-runner.js';
import type { FunctionDef } from './registry.js';
import { badArg } from './registry.js';
import { needInt, needText, show } from './util.js';

export const JQ_DEFAULT_TIMEOUT_MS = 10_000;

export const jqFunctions: readonly FunctionDef[] = [
  {
    name: 'jq',
    family: 'jq',
    arity: { min: 2, max: 3 },
    signature: 'jq(Program, Json[, TimeoutMs])',
    description:
      'Run the jq Program on Json (a value, or JSON text which is parsed) and return the list of all outputs. A jq error, invalid JSON text or exceeding TimeoutMs (default 10000) is an error.',
    examples: [
      { sql: "jq('.a[] | . * 2', '{\"a\":[1,2]}')", result: '[2,4]' },
      { sql: 'jq(\'.x\', json_decode(\'{"x":{"y":2.0}}\'))', result: '[{"y":2.0}]' },
      { sql: "jq('empty', '1')", result: '[]' },
    ],
    impl: (args, ctx) => {
      const program = needText(args[0], 'Program');
      const input = args[1];
      const json =
        typeof input === 'string' || Buffer.isBuffer(input)
          ? input.toString('utf8')
          : encodeJson(input);
      const timeout = args.length > 2 ? needInt(args[2], 'TimeoutMs') : JQ_DEFAULT_TIMEOUT_MS;
      if (timeout <= 0) return badArg(`jq: TimeoutMs must be positive, got ${timeout}`);
      // Evaluated in passes (async-eval.ts): answer from the memo, or ask for the run and
      // suspend this pass; the worker runs it while the event loop goes on.
      const session = ctx.services.session?.current;
      if (session) {
        const key = `${timeout}\u0000${program}\u0000${json}`;
        const answer = session.memo.get(key);
        if (answer === undefined) {
          session.pending = { key, program, input: json, timeoutMs: timeout };
          throw new EvalSuspended();
        }
        if ('error' in answer)
          return badArg(`jq: ${answer.error.replace(/^jq: /, '')} (program ${show(program)})`);
        return answer.outputs.map((o) => decodeJson(o));
      }
      const run = ctx.services.jq;
      if (!run) return badArg('jq: no jq runtime is configured for this engine');
      // Never wait past the rule's evaluation budget (the main thread waits for the worker).
      const left = ctx.services.deadline ? ctx.services.deadline() - performance.now() : Infinity;
      const wait = Math.max(1, Math.min(timeout, Math.ceil(left)));
      let outputs: string[];
      try {
        outputs = run(program, json, wait, left !== Infinity);
      } catch (e) {
        // The worker is loading (a replacement after a timeout): failing at once is the budget
        // at work, reported with the budget's code rather than as a bad argument.
        if (e instanceof JqNotReady)
          throw new SluiceError(
            'rule_budget_exceeded',
            `jq: ${e.message} (program ${show(program)})`,
          );
        return badArg(
          `jq: ${(e as Error).message.replace(/^jq: /, '')} (program ${show(program)})`,
        );
      }
      return outputs.map((o) => decodeJson(o));
    },
  },
];
