/**
 * FROM entries → plan sources (spec rule-sql §2, §7): MQTT filters are validated, `$events/...`
 * topics resolved to the event they name (either spelling), hooks passed through. Problems are
 * reported as diagnostics pointing at the entry.
 */
import type { FromEntry } from '../../sql-parser/index.js';
import { UNSUPPORTED_EVENT_TOPICS, eventOfTopic, topicFilterProblem } from '../topic.js';
import type { PlanSource } from './types.js';

export function classifySource(
  f: FromEntry,
  report: (code: string, message: string) => void,
): PlanSource {
  const topic = f.topic;
  if (topic.startsWith('$bridges/')) return { topic, type: 'bridge' };
  if (topic.startsWith('$sources/')) return { topic, type: 'source' };
  const problem = topicFilterProblem(topic);
  if (problem !== undefined) {
    report('sql_invalid_topic_filter', `invalid topic filter "${topic}": ${problem}`);
    return { topic, type: 'mqtt' };
  }
  if (!topic.startsWith('$events/')) return { topic, type: 'mqtt' };
  if (topic.includes('+') || topic.includes('#')) return { topic, type: 'event' };
  const event = eventOfTopic(topic);
  if (event !== undefined) return { topic, type: 'event', event };
  if (topic === '$events/message_publish' || topic === '$events/message/publish')
    report(
      'sql_unknown_event',
      `"${topic}" is not a usable source: match published messages by their MQTT topic filter instead`,
    );
  else if (UNSUPPORTED_EVENT_TOPICS.has(topic))
    report(
      'sql_unsupported_event',
      `"${topic}" is an EMQX 4.x event topic; use "${UNSUPPORTED_EVENT_TOPICS.get(topic)}"`,
    );
  else report('sql_unknown_event', `unknown event topic "${topic}"`);
  return { topic, type: 'event' };
}
