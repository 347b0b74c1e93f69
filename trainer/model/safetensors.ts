/**
 * A small safetensors reader/writer (F32 and I32 only: all the built-in model stores).
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`
 * (padded with spaces to 8-byte alignment), then the raw little-endian data.
 */

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export interface NamedTensor {
  dtype: 'F32' | 'I32';
  shape: number[];
  data: Float32Array | Int32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Serialise tensors (in the given order) with optional string metadata. */
export function encodeSafetensors(tensors: Map<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length)
      throw new SafetensorsError(`tensor ${name}: shape [${t.shape}] holds ${n} values but data has ${t.data.length}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hbytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hbytes.length + off);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}

/** Parse a safetensors buffer; `what` names the file in error messages. */
export function decodeSafetensors(
  buf: Uint8Array,
  what = 'safetensors file',
): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  if (buf.length < 8)
    throw new SafetensorsError(`${what} is truncated (${buf.length} bytes): the file is corrupt; restore it or retrain`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = Number(dv.getBigUint64(0, true));
  if (hlen <= 0 || 8 + hlen > buf.length)
    throw new SafetensorsError(
      `${what} has a header length of ${hlen} bytes but the file is ${buf.length} bytes: the file is corrupt or truncated`,
    );
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(buf.subarray(8, 8 + hlen)).toString('utf8'));
  } catch (err) {
    throw new SafetensorsError(`${what} has an unreadable JSON header (${(err as Error).message}): the file is corrupt`);
  }
  const base = 8 + hlen;
  const dataLen = buf.length - base;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = e as Record<string, string>;
      continue;
    }
    const ent = e as HeaderEntry;
    if (ent.dtype !== 'F32' && ent.dtype !== 'I32')
      throw new SafetensorsError(`${what}: tensor ${name} has dtype ${ent.dtype}; only F32 and I32 are supported`);
    const [b, en] = ent.data_offsets ?? [];
    const n = (ent.shape ?? []).reduce((a: number, x: number) => a * x, 1);
    if (!(Number.isInteger(b) && Number.isInteger(en) && b >= 0 && en <= dataLen && en - b === n * 4)) {
      throw new SafetensorsError(
        `${what}: tensor ${name} has offsets [${b}, ${en}] that do not fit its shape [${ent.shape}] or the file (${dataLen} data bytes): the file is corrupt or truncated`,
      );
    }
    // copy: the buffer's byte offset may not be 4-aligned
    const bytes = buf.slice(base + b, base + en);
    const data = ent.dtype === 'F32' ? new Float32Array(bytes.buffer) : new Int32Array(bytes.buffer);
    tensors.set(name, { dtype: ent.dtype, shape: ent.shape, data });
  }
  return { tensors, metadata };
}
