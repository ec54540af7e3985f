/**
 * Error codes of the HStreamDB sink (CONVENTIONS.md #7). gRPC statuses are mapped to these in
 * `grpc-errors.ts` following hstream-protocol.md §9: transient statuses (UNAVAILABLE, deadline,
 * store INTERNAL, …) are retriable, request errors (INVALID_ARGUMENT, NOT_FOUND, …) are final.
 */
import { defineErrors } from '../../core/index.js';

export const HStreamErrors = defineErrors('sinks/hstream', {
  hstream_config_invalid: {
    description: 'The HStreamDB sink configuration is invalid (server URL, TLS files, templates).',
    retriable: false,
  },
  hstream_unavailable: {
    description:
      'The HStreamDB server is unreachable or not ready (gRPC UNAVAILABLE, e.g. store warm-up, unknown shard after a stream change); retried.',
    retriable: true,
  },
  hstream_timeout: {
    description: 'An HStreamDB call exceeded its deadline (gRPC DEADLINE_EXCEEDED); retried.',
    retriable: true,
  },
  hstream_internal: {
    description:
      'HStreamDB reported an internal or store error (gRPC INTERNAL, ABORTED, RESOURCE_EXHAUSTED); retried.',
    retriable: true,
  },
  hstream_wrong_server: {
    description:
      'The contacted node does not own the resource (error 800 WrongServer); the owner is looked up again and the call retried.',
    retriable: true,
  },
  hstream_stream_not_found: {
    description:
      'The target stream does not exist (and auto-creation is off, or it was deleted while the sink ran).',
    retriable: false,
  },
  hstream_no_shards: {
    description: 'ListShards returned no active shard for the stream.',
    retriable: true,
  },
  hstream_invalid_argument: {
    description:
      'HStreamDB rejected a request as invalid (gRPC INVALID_ARGUMENT, e.g. bad stream name, replication factor or shard count).',
    retriable: false,
  },
  hstream_empty_batch: {
    description: 'HStreamDB rejected an empty batch (error 206 EmptyBatchedRecord).',
    retriable: false,
  },
  hstream_batch_too_large: {
    description:
      'HStreamDB rejected a batch larger than its max-record-size (error 207, default 1 MiB).',
    retriable: false,
  },
  hstream_record_too_large: {
    description:
      'One rendered record alone exceeds the 1 MiB batch limit; it is rejected, the rest of the batch is written.',
    retriable: false,
  },
  hstream_template_failed: {
    description:
      'Rendering the record or partition-key template failed for one record; that record is rejected.',
    retriable: false,
  },
  hstream_hrecord_invalid: {
    description:
      'record_type hrecord: the rendered record is not a JSON object, so it cannot be written as an HRecord (protobuf Struct); that record is rejected.',
    retriable: false,
  },
  hstream_request_failed: {
    description:
      'HStreamDB answered with a non-retriable gRPC status not covered by a more specific code.',
    retriable: false,
  },
  hstream_unauthenticated: {
    description: 'HStreamDB refused the credentials (gRPC UNAUTHENTICATED / PERMISSION_DENIED).',
    retriable: false,
  },
  hstream_echo_mismatch: {
    description: 'The Echo health check answered with a different text than it was sent.',
    retriable: true,
  },
  hstream_zstd_unavailable: {
    description:
      'compression "zstd" needs Node.js >= 22.15 (zlib zstd support); this runtime has none.',
    retriable: false,
  },
  hstream_closed: {
    description: 'The sink was closed while a call was in progress.',
    retriable: true,
  },
});
