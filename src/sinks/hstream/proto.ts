/**
 * Loads the HStreamDB service definition (our own `proto/hstream.proto`, hstream-protocol.md
 * §1–§3) through `@grpc/proto-loader` from the generated JSON descriptor, so nothing is read from
 * disk at run time. The loader options MUST match the flags `gen-proto.ts` passes to
 * `proto-loader-gen-types`, or the generated types would lie:
 *  - `longs: String` — every uint64 (shard ids, LSNs) is a decimal string, never a lossy number
 *    (hstream-protocol.md §1 "Codegen notes", §7: shard ids pass 2^53);
 *  - `enums: String`, `defaults: true`, `oneofs: true`, `keepCase: true`.
 */
import * as grpc from '@grpc/grpc-js';
import { fromJSON, type Options } from '@grpc/proto-loader';
import { hstreamDescriptor } from './generated/descriptor.js';
import type { ProtoGrpcType } from './generated/hstream.js';
import type {
  HStreamApiClient,
  HStreamApiHandlers,
} from './generated/hstream/server/HStreamApi.js';

export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: ProtoGrpcType | undefined;

/** The loaded package (`hstream.server.*`), built once per process (immutable, so shareable). */
export function hstreamProto(): ProtoGrpcType {
  if (!cached) {
    const def = fromJSON(hstreamDescriptor as never, LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached;
}

export type { HStreamApiClient, HStreamApiHandlers };
export { grpc };
