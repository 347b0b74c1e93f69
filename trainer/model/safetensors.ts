/**
 * A small safetensors reader/writer (F32 and I32 only: all the built-in model stores), and a
 * tensor-by-tensor reader of other tools' files (BF16 and F16 widened to F32).
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`
 * (padded with spaces to 8-byte alignment), then the raw little-endian data.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

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

// ---------------------------------------------------------------------------------------------
// Files written by other tools (Hugging Face checkpoints): read tensor by tensor, widened to f32

/** Bytes per value of the dtypes `readSafetensorsFile` reads. */
const DTYPE_BYTES: Record<string, number> = { F32: 4, BF16: 2, F16: 2, I32: 4 };

/** IEEE half -> float (subnormals, infinities and NaN included). */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Raw little-endian bytes of `dtype` -> Float32Array (bf16 is the top half of an f32: exact). */
export function widenToF32(dtype: string, bytes: Uint8Array): Float32Array {
  const n = bytes.length / (DTYPE_BYTES[dtype] ?? 1);
  const out = new Float32Array(n);
  if (dtype === 'F32') {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const u16 = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = u16[i] << 16;
  } else if (dtype === 'F16') for (let i = 0; i < n; i++) out[i] = halfToFloat(u16[i]);
  else throw new SafetensorsError(`dtype ${dtype} cannot be widened to F32`);
  return out;
}

export interface FileTensorInfo {
  dtype: string;
  shape: number[];
  /** Byte range in the file. */
  begin: number;
  end: number;
}

/**
 * The header of a safetensors file on disk, and a reader of single tensors (F32, BF16 and F16 are
 * returned as F32; I32 as I32). Tensors are read one at a time with positioned reads, so loading a
 * multi-gigabyte shard never holds the whole file in memory.
 */
export function openSafetensorsFile(path: string): {
  tensors: Map<string, FileTensorInfo>;
  metadata: Record<string, string>;
  read(name: string): NamedTensor;
  close(): void;
} {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const hlen = size >= 8 ? Number(head.readBigUInt64LE(0)) : -1;
    if (hlen <= 0 || 8 + hlen > size)
      throw new SafetensorsError(
        `${path} is not a safetensors file (header length ${hlen}, file ${size} bytes): it is corrupt or truncated`,
      );
    const hbuf = Buffer.alloc(hlen);
    readSync(fd, hbuf, 0, hlen, 8);
    let header: Record<string, HeaderEntry | Record<string, string>>;
    try {
      header = JSON.parse(hbuf.toString('utf8'));
    } catch (err) {
      throw new SafetensorsError(`${path} has an unreadable JSON header (${(err as Error).message}): the file is corrupt`);
    }
    const base = 8 + hlen;
    const tensors = new Map<string, FileTensorInfo>();
    let metadata: Record<string, string> = {};
    for (const [name, e] of Object.entries(header)) {
      if (name === '__metadata__') {
        metadata = e as Record<string, string>;
        continue;
      }
      const ent = e as HeaderEntry;
      const [b, en] = ent.data_offsets ?? [];
      const n = (ent.shape ?? []).reduce((a: number, x: number) => a * x, 1);
      const width = DTYPE_BYTES[ent.dtype];
      if (
        width !== undefined &&
        !(Number.isInteger(b) && Number.isInteger(en) && b >= 0 && base + en <= size && en - b === n * width)
      )
        throw new SafetensorsError(
          `${path}: tensor ${name} has offsets [${b}, ${en}] that do not fit its shape [${ent.shape}] or the file: it is corrupt or truncated`,
        );
      tensors.set(name, { dtype: ent.dtype, shape: ent.shape, begin: base + b, end: base + en });
    }
    return {
      tensors,
      metadata,
      read(name) {
        const t = tensors.get(name);
        if (!t) throw new SafetensorsError(`${path} holds no tensor ${name}`);
        if (DTYPE_BYTES[t.dtype] === undefined)
          throw new SafetensorsError(`${path}: tensor ${name} has dtype ${t.dtype}; F32, BF16, F16 and I32 are supported`);
        const bytes = new Uint8Array(t.end - t.begin);
        let off = 0;
        while (off < bytes.length) {
          const got = readSync(fd, bytes, off, bytes.length - off, t.begin + off);
          if (got <= 0) throw new SafetensorsError(`${path}: tensor ${name} ends past the end of the file`);
          off += got;
        }
        if (t.dtype === 'I32') return { dtype: 'I32', shape: t.shape, data: new Int32Array(bytes.buffer) };
        return { dtype: 'F32', shape: t.shape, data: widenToF32(t.dtype, bytes) };
      },
      close() {
        closeSync(fd);
      },
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
