/**
 * What travels on a room's Redis channel: the bytes to give every member, or a join notice that
 * also names the node and connection it belongs to (so that node can let the newcomer in when
 * its own notice comes back). Binary, not JSON: a relay is one copy of the bytes plus one byte.
 *
 * @module
 */

const BROADCAST = 0x42; // 'B'
const JOIN = 0x4a; // 'J'

/** A decoded envelope. */
export type Envelope =
  | { readonly kind: 'broadcast'; readonly bytes: Uint8Array }
  | { readonly kind: 'join'; readonly node: string; readonly id: number; readonly bytes: Uint8Array };

/** Bytes for every member. */
export function encodeBroadcast(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + bytes.length);
  out[0] = BROADCAST;
  out.set(bytes, 1);
  return out;
}

/** A join notice of connection `id` on `node` (node ids are ASCII, at most 255 bytes). */
export function encodeJoin(node: string, id: number, bytes: Uint8Array): Buffer {
  const nodeBytes = Buffer.from(node, 'latin1');
  const out = Buffer.allocUnsafe(2 + nodeBytes.length + 4 + bytes.length);
  out[0] = JOIN;
  out[1] = nodeBytes.length;
  nodeBytes.copy(out, 2);
  out.writeUInt32BE(id, 2 + nodeBytes.length);
  out.set(bytes, 6 + nodeBytes.length);
  return out;
}

/** Decodes an envelope; undefined for anything else (another program on the channel). */
export function decodeEnvelope(buf: Buffer): Envelope | undefined {
  if (buf.length >= 1 && buf[0] === BROADCAST) return { kind: 'broadcast', bytes: buf.subarray(1) };
  if (buf.length >= 2 && buf[0] === JOIN) {
    const nodeEnd = 2 + (buf[1] ?? 0);
    if (buf.length < nodeEnd + 4) return undefined;
    return {
      kind: 'join',
      node: buf.toString('latin1', 2, nodeEnd),
      id: buf.readUInt32BE(nodeEnd),
      bytes: buf.subarray(nodeEnd + 4),
    };
  }
  return undefined;
}
