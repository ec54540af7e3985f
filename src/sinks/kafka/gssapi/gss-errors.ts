/**
 * GSS-API / Kerberos failure text → coded errors. The `kerberos` package rejects with MIT's
 * major+minor status text (e.g. "Miscellaneous failure (see text): Cannot contact any KDC for
 * realm 'X'"); the phrases matched here are MIT krb5 1.17–1.21 messages (krb5_err.et,
 * kv5m_err.et) seen in real runs against a real KDC.
 */
import type { SluiceError } from '../../../core/index.js';
import { KafkaErrors } from '../errors.js';

export interface GssErrorContext {
  sink: string;
  principal?: string;
  service: string;
  host: string;
}

export function mapGssError(err: unknown, ctx: GssErrorContext): SluiceError {
  const text = err instanceof Error ? err.message : String(err);
  const who = ctx.principal ? `principal ${ctx.principal}` : 'the default principal';
  const context = { ...ctx };
  const opts = { cause: err, context };
  if (
    /Cannot (contact|find) any KDC|Cannot resolve network address for KDC|unable to reach any KDC/i.test(
      text,
    )
  )
    return KafkaErrors.kafka_gssapi_kdc_unreachable(
      `Kerberos: no KDC reachable for ${who} (check krb5.conf / KRB5_CONFIG): ${text}`,
      opts,
    );
  if (/Clock skew too great/i.test(text))
    return KafkaErrors.kafka_gssapi_clock_skew(
      `Kerberos: clock skew too great between this host and the KDC (sync the clocks): ${text}`,
      opts,
    );
  const notFound = /(Client|Server) '?([^' ]+)'? not found in Kerberos database/i.exec(text);
  if (notFound && /^server/i.test(notFound[1] ?? ''))
    return KafkaErrors.kafka_gssapi_unknown_service(
      `Kerberos: service principal ${notFound[2]} is unknown to the KDC. The broker was dialled as ` +
        `"${ctx.host}": use the host name the broker's principal was made for, or set ` +
        `authentication.kerberos_service_host: ${text}`,
      opts,
    );
  if (notFound)
    return KafkaErrors.kafka_gssapi_unknown_principal(
      `Kerberos: client ${notFound[2]} is not in the KDC database: ${text}`,
      opts,
    );
  if (
    /Preauthentication failed|Key table entry not found|No key table entry|Key table file .* not found|keytab|Key version number for principal in key table is incorrect|Decrypt integrity check failed|Password incorrect|Permission denied/i.test(
      text,
    )
  )
    return KafkaErrors.kafka_gssapi_bad_keytab(
      `Kerberos: the keytab for ${who} is missing, unreadable or stale: ${text}`,
      opts,
    );
  if (
    /No credentials|Can't find client principal|credential cache|No Kerberos credentials/i.test(
      text,
    )
  )
    return KafkaErrors.kafka_gssapi_bad_keytab(
      `Kerberos: no credentials for ${who} (configure kerberos_keytab_file, or kinit): ${text}`,
      opts,
    );
  return KafkaErrors.kafka_gssapi_failed(`Kerberos GSSAPI failure for ${who}: ${text}`, opts);
}
