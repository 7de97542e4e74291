/**
 * The size of a gateway WatchRequest in protobuf encoding, for gRPC's limit on a message (the KV
 * requests' sizes are every surface's: etcd/proto_size.ts).
 *
 * Owns: byte counting of the watch requests the gateway decodes. Never: encoding them.
 */
import { fieldSize } from "../../etcd/proto_size.ts";
import type { WatchRequest } from "../schemas/watch_lease.ts";

const { bytes: bytesField, int: intField, bool: boolField, message: messageField } = fieldSize;

/** A WatchRequest (filters counted once each: repeats change nothing a limit could notice). */
export function watchRequestSize(r: WatchRequest): number {
  switch (r.kind) {
    case "create": {
      const c = r.create;
      const filters = (c.noPut ? 1 : 0) + (c.noDelete ? 1 : 0);
      return messageField(1, bytesField(1, c.key) + bytesField(2, c.rangeEnd) + intField(3, c.startRevision) +
        boolField(4, c.progressNotify) + (filters > 0 ? messageField(5, filters) : 0) + boolField(6, c.prevKv) +
        intField(7, c.watchId));
    }
    case "cancel": return messageField(2, intField(1, r.watchId));
    case "progress": return messageField(3, 0);
    case "none": return 0;
  }
}
