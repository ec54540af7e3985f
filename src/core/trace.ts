/**
 * Per-message tracing contract (issue #18 item 1, docs/api.md "Traces"). The recorder lives in
 * src/runtime/trace; the sink runner and the engine only see this handle.
 *
 * A `MessageTrace` travels with a `SinkRecord` (`record.trace`) only when a running trace
 * selected the message and the rule; it is `undefined` otherwise, so untraced records cost
 * one property check where steps would be recorded. Calls never throw and never wait.
 */

/** The steps a traced message can take, in the order they normally happen. */
export type TraceStepName =
  | 'received'
  | 'rule_matched'
  | 'where'
  | 'select'
  | 'action_render'
  | 'buffered'
  | 'send_attempt'
  | 'ack'
  | 'drop'
  | 'fallback';

export interface MessageTrace {
  /**
   * Record one step of this message for the rule that produced the record. `action` names the
   * sink; `detail` must be JSON-encodable with the rule value encoder (`encodeJson`).
   */
  step(step: TraceStepName, action: string | undefined, detail: Record<string, unknown>): void;
}
