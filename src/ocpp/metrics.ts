/** Gateway-wide counters (`gateway.metrics()`); per-connection figures are in ConnectionStats. */
export interface GatewayMetrics {
  /** Charge points connected now. */
  connections: number;
  connections_total: number;
  /** Upgrades refused, by reason (bad_path, bad_clientid, subprotocol, auth, banned, …). */
  refused: Record<string, number>;
  /** Older connections closed because the same charge point id connected again. */
  takeovers: number;
  frames_in: number;
  frames_out: number;
  /** MQTT messages published (CP CALLs, replies, errors, synthetic errors). */
  published: number;
  publish_failed: number;
  /** Frames that were not valid OCPP-J (not JSON, bad structure, unknown MessageTypeId). */
  invalid_frames: number;
  /** Downstream MQTT messages that were not a valid envelope. */
  invalid_envelopes: number;
  /** Schema check failures (both directions). */
  validation_failed: number;
  /** Backend CALLs dropped because the charge point's queue was full. */
  dropped_queue_full: number;
  /** Everything dropped (invalid frames and envelopes, full queues, refused backend CALLs). */
  dropped: number;
  /** Backend CALLs the charge point did not answer within await_timeout. */
  call_timeouts: number;
  /** CP replies that matched no backend CALL in flight (late or unknown UniqueId). */
  unmatched_replies: number;
  keepalive_timeouts: number;
}

export function createMetrics(): GatewayMetrics {
  return {
    connections: 0,
    connections_total: 0,
    refused: {},
    takeovers: 0,
    frames_in: 0,
    frames_out: 0,
    published: 0,
    publish_failed: 0,
    invalid_frames: 0,
    invalid_envelopes: 0,
    validation_failed: 0,
    dropped_queue_full: 0,
    dropped: 0,
    call_timeouts: 0,
    unmatched_replies: 0,
    keepalive_timeouts: 0,
  };
}
