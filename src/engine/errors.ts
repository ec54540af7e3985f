/** Codes the engine itself logs (sink threads, rule loading and reloads, start and stop). */
import { defineErrors } from '../core/index.js';

export const EngineErrors = defineErrors('engine', {
  sink_thread_exit: {
    description:
      'A sink thread (thread: worker) ended unexpectedly. Its sink reports status failed; the records it held are counted as dropped thread_exit. Restart Sluice (or reload the sink) to start it again.',
    retriable: false,
  },
  thread_exit: {
    description:
      'Drop reason: the record was in a sink thread (or on its way to it) when the thread ended unexpectedly.',
    retriable: false,
  },
  rule_not_loaded: {
    description:
      'A rule could not be loaded (logged at error with `rule` when known, `cause` the issue code and `issue` the located message). At start the rule is skipped; on a reload the previous version keeps running. Fix the rule file and save it again.',
    retriable: false,
  },
  rule_payload_path_impossible: {
    description:
      '`sluice check`: a rule path can never exist — it reads `x.a.b` where `x` is a `schema_decode(\'S\', …)` alias, or `payload.a.b` on topics whose messages JSON schema validations (drop/disconnect) guarantee, and the schema (JSON Schema, Avro or Protobuf in sluice.yaml) cannot have it: a closed object or record without the key, a number/boolean/enum being navigated, a key on a list, an index on a map, past `maxItems` or a closed tuple, or a range `[m..n]` on what cannot be a list (which fails the rule with range_get non_list_data). The rule would always see undefined there (for a range: always fail). A string is never judged for a key or an index (it is JSON-decoded when navigated). docs/schema-validation.md "Rule paths against schemas".',
    retriable: false,
  },
  config_not_reloaded: {
    description:
      'A reload found sluice.yaml invalid; nothing changed and the running configuration is kept (`issue` says where). Fix the file and save it again.',
    retriable: false,
  },
  config_restart_required: {
    description:
      'A reload changed settings that are only read at start (`sections` names them); they take effect after a restart.',
    retriable: false,
  },
  config_watch_failed: {
    description:
      'A configuration or rule directory cannot be watched (`dir`), so edits there are not reloaded automatically; reload over the API or fix the directory.',
    retriable: false,
  },
  reload_listener_failed: {
    description:
      'A listener of reload reports (engine.onReload) threw; the reload itself completed.',
    retriable: false,
  },
  event_listen_failed: {
    description:
      'An event producer (`producer`) refused to deliver the `$events/...` events the rules need; rules on those events see nothing from it.',
    retriable: false,
  },
  memory_reclaimed: {
    description:
      'Info, one line per memory reclaim (decision 0023, `memory_reclaim` in sluice.yaml): V8 memory-saver mode was on while the process was idle after a burst. `outcome` done (V8 ran its reducing GC: `major_gcs`, `max_pause_ms`), timeout (no reducing GC within `memory_reclaim.timeout`), busy (load returned, saver mode turned off at once) or stopped (engine stopped); `rss_before`, `rss_after`, `reclaimed_bytes`, `duration_ms`. Nothing to do; a reclaim that often ends busy means `idle_time` is too short for the traffic pattern.',
    retriable: false,
  },
  sink_start_failed: {
    description:
      'A sink could not be started (`sink`; e.g. its disk buffer is locked by another process); its records fail until it is fixed and reloaded.',
    retriable: false,
  },
  sink_drain_failed: {
    description:
      'Draining a sink at shutdown threw (`sink`); records it still held are not counted as delivered.',
    retriable: false,
  },
  shutdown_publishes_held: {
    description:
      'At shutdown some publishes were still held by back-pressure (`held`) and are not routed to rules; QoS 1/2 publishers resend them since they were not acknowledged.',
    retriable: false,
  },
  alarm_activated: {
    description:
      'An alarm was raised (`alarm` names it, `details` the facts; docs/alarms.md lists them all). It is listed by GET /api/v5/alarms and fired as $events/sys/alarm_activated; its clearing is logged at info.',
    retriable: false,
  },
  alarm_check_failed: {
    description:
      'A periodic alarm check threw (a bug: `err` says where); the next check runs as usual.',
    retriable: false,
  },
  alarm_listener_failed: {
    description: 'A listener of alarm changes threw (`alarm`); the alarm itself was recorded.',
    retriable: false,
  },
  sink_thread_unsupported: {
    description:
      'thread: worker was set on a sink type that cannot leave the main thread (republish publishes into the broker, memory is read back through engine.sink(), and sink types supplied by an embedding program are not loadable in a thread); the sink runs on the main thread.',
    retriable: false,
  },
});
