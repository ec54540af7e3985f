/**
 * HStreamDB sink (src/sinks/hstream). Public surface:
 *  - `hstreamSinkType`: the `SinkType` registered by src/engine (sinks.ts) as `type: hstreamdb`;
 *  - `HStreamClient` and the wire helpers below: used by tests, the stand-in server in
 *    test/hstream-server and the benchmarks, so that protobuf/gRPC tooling is imported only here
 *    (CONVENTIONS.md "Who may import whom").
 */
export { HStreamErrors } from './errors.js';
export {
  HStreamClient,
  type HStreamClientOptions,
  type ReadRecord,
  type CreateStreamOptions,
} from './client.js';
export { parseServerUrls, endpointAddress, type Endpoint } from './url.js';
export { parseEnvelope, fromGrpcError, type ErrorEnvelope } from './grpc-errors.js';
export { hashKey, splitKeySpace, ShardTable, KEY_SPACE_MAX, type ShardRange } from './hash.js';
export {
  encodeBatch,
  decodeBatch,
  compress,
  decompress,
  zstdAvailable,
  zstdFrameHasContentSize,
  isCompleteGzipMember,
  batchedRecordSize,
  encodedRecordSize,
  ProtobufDecodeError,
  decodeAppendAck,
  type AppendAck,
  FLAG_JSON,
  FLAG_RAW,
  type HRecord,
  type DecodedRecord,
  type Compression,
} from './record-codec.js';
export { hstreamProto, grpc, LOADER_OPTIONS, type HStreamApiHandlers } from './proto.js';
export type {
  BatchedRecord,
  BatchedRecord__Output,
} from './generated/hstream/server/BatchedRecord.js';
export type { RecordId, RecordId__Output } from './generated/hstream/server/RecordId.js';
export type { ShardOffset__Output } from './generated/hstream/server/ShardOffset.js';
export type { ReceivedRecord } from './generated/hstream/server/ReceivedRecord.js';
export type { ServerNode } from './generated/hstream/server/ServerNode.js';
export { hstreamSinkType } from './sink-type.js';
export { HStreamSink, createHStreamSink, checkTemplate, type HStreamSinkOptions } from './sink.js';
export { hstreamSinkSpec, HSTREAM_RUNNER_DEFAULTS, type HStreamSinkConfig } from './spec.js';
export {
  HStreamReadApi,
  type Consumer,
  type Delivery,
  type ResourceType,
  type SubscriptionOptions,
} from './read-api.js';
export { decodeReceivedRecord } from './received.js';
export { encodeStruct, decodeStruct } from './struct-codec.js';
export type { StreamingFetchRequest__Output } from './generated/hstream/server/StreamingFetchRequest.js';
export type { StreamingFetchResponse } from './generated/hstream/server/StreamingFetchResponse.js';
