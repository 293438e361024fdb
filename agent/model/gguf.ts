// GGUF v3 writer and validating reader (docs/model-format.md §4).
// Layout, little-endian: u32 magic "GGUF", u32 version 3, u64 tensor_count, u64 kv_count,
// kv_count x { string key, u32 value_type, value }, tensor_count x { string name, u32 n_dims,
// u64 ne[n_dims] (fastest-varying first), u32 ggml_type, u64 offset }, zero padding to
// general.alignment, then the tensor data, each tensor at an aligned offset from the data start.
// A string is u64 byte length + UTF-8 bytes (no terminator).
import { ModelError } from './model-error.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types of GGUF. */
export enum GgufType {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
}

/** The ggml tensor types this project uses (ids are ggml's). */
export enum GgmlType {
  F32 = 0,
  I8 = 24,
  I32 = 26,
}

const TENSOR_ELEMENT_BYTES: Record<number, number> = {
  [GgmlType.F32]: 4,
  [GgmlType.I8]: 1,
  [GgmlType.I32]: 4,
};

export type GgufScalar = number | bigint | boolean | string;

export type GgufValue =
  | { type: Exclude<GgufType, GgufType.ARRAY>; value: GgufScalar }
  | { type: GgufType.ARRAY; itemType: Exclude<GgufType, GgufType.ARRAY>; value: GgufScalar[] };

export type GgufTensorData = Float32Array | Int8Array | Int32Array;

export interface GgufTensorInput {
  name: string;
  type: GgmlType;
  /** Dimensions, fastest-varying first (a PyTorch [out, in] weight has ne = [in, out]). */
  ne: number[];
  data: GgufTensorData;
}

export interface GgufTensorInfo {
  name: string;
  type: GgmlType;
  ne: number[];
  /** Offset from the start of the data section. */
  offset: number;
  byteLength: number;
}

export interface GgufFile {
  version: number;
  alignment: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Absolute file offset of the data section. */
  dataOffset: number;
  bytes: Uint8Array;
}

// Bounds that keep a hostile file from making the reader allocate without limit.
const MAX_TENSORS = 65536;
const MAX_KV = 65536;
const MAX_STRING_BYTES = 1 << 20;
const MAX_ARRAY_COUNT = 1 << 24;
const MAX_DIMS = 4;

// ---------------------------------------------------------------------------------------------
// Convenience constructors for metadata values.

export const gguf = {
  str: (value: string): GgufValue => ({ type: GgufType.STRING, value }),
  u32: (value: number): GgufValue => ({ type: GgufType.U32, value }),
  f32: (value: number): GgufValue => ({ type: GgufType.F32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufType.BOOL, value }),
  strs: (value: string[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.STRING, value }),
};

// ---------------------------------------------------------------------------------------------
// Writer

class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  i8(v: number): void {
    this.reserve(1);
    this.view.setInt8(this.length, v);
    this.length += 1;
  }
  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  i16(v: number): void {
    this.reserve(2);
    this.view.setInt16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  u64(v: number | bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  i64(v: number | bigint): void {
    this.reserve(8);
    this.view.setBigInt64(this.length, BigInt(v), true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.reserve(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function writeScalar(w: ByteWriter, type: GgufType, v: GgufScalar, key: string): void {
  const num = (): number => {
    if (typeof v !== 'number') {
      throw new TypeError(
        `GGUF metadata ${key}: expected a number for ${GgufType[type]} but received ${typeof v}`,
      );
    }
    return v;
  };
  switch (type) {
    case GgufType.U8:
      return w.u8(num());
    case GgufType.I8:
      return w.i8(num());
    case GgufType.U16:
      return w.u16(num());
    case GgufType.I16:
      return w.i16(num());
    case GgufType.U32:
      return w.u32(num());
    case GgufType.I32:
      return w.i32(num());
    case GgufType.F32:
      return w.f32(num());
    case GgufType.F64:
      return w.f64(num());
    case GgufType.U64:
      return w.u64(typeof v === 'bigint' ? v : num());
    case GgufType.I64:
      return w.i64(typeof v === 'bigint' ? v : num());
    case GgufType.BOOL:
      if (typeof v !== 'boolean')
        throw new TypeError(`GGUF metadata ${key}: expected a boolean but received ${typeof v}`);
      return w.u8(v ? 1 : 0);
    case GgufType.STRING:
      if (typeof v !== 'string')
        throw new TypeError(`GGUF metadata ${key}: expected a string but received ${typeof v}`);
      return w.string(v);
    default:
      throw new TypeError(`GGUF metadata ${key}: unsupported value type ${type}`);
  }
}

function elementCount(ne: number[]): number {
  return ne.reduce((a, b) => a * b, 1);
}

/**
 * Serialize a GGUF v3 file. `general.alignment` is written (as u32) unless already present;
 * tensors keep the order given.
 */
export function writeGguf(
  metadata: Map<string, GgufValue> | [string, GgufValue][],
  tensors: GgufTensorInput[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): Uint8Array {
  const kv = new Map(metadata instanceof Map ? metadata : metadata);
  if (!kv.has('general.alignment')) kv.set('general.alignment', gguf.u32(alignment));
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new TypeError(`GGUF tensor ${t.name}: duplicate name`);
    names.add(t.name);
    const expected = elementCount(t.ne);
    if (t.data.length !== expected) {
      throw new TypeError(
        `GGUF tensor ${t.name}: ne [${t.ne.join(', ')}] needs ${expected} values but received ${t.data.length}`,
      );
    }
    const ok =
      (t.type === GgmlType.F32 && t.data instanceof Float32Array) ||
      (t.type === GgmlType.I8 && t.data instanceof Int8Array) ||
      (t.type === GgmlType.I32 && t.data instanceof Int32Array);
    if (!ok) throw new TypeError(`GGUF tensor ${t.name}: data array does not match type ${GgmlType[t.type]}`);
  }

  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(kv.size);
  for (const [key, val] of kv) {
    w.string(key);
    w.u32(val.type);
    if (val.type === GgufType.ARRAY) {
      w.u32(val.itemType);
      w.u64(val.value.length);
      for (const item of val.value) writeScalar(w, val.itemType, item, key);
    } else {
      writeScalar(w, val.type, val.value, key);
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    w.string(t.name);
    w.u32(t.ne.length);
    for (const n of t.ne) w.u64(n);
    w.u32(t.type);
    w.u64(offset);
    offsets.push(offset);
    const bytes = t.data.byteLength;
    offset += bytes + ((alignment - (bytes % alignment)) % alignment);
  }
  w.padTo(alignment);
  for (const t of tensors) {
    // Little-endian host assumed for the typed-array views (x86, ARM little-endian).
    w.bytes(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    w.padTo(alignment);
  }
  return w.result();
}

// ---------------------------------------------------------------------------------------------
// Reader

function formatError(message: string): ModelError {
  return new ModelError('MODEL_FORMAT', `Invalid GGUF: ${message}`);
}

class ByteReader {
  private readonly view: DataView;
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get remaining(): number {
    return this.bytes.length - this.pos;
  }
  need(n: number, what: string): void {
    if (n > this.remaining) {
      throw formatError(
        `file ends inside ${what} at offset ${this.pos} (needs ${n} bytes, ${this.remaining} remain)`,
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** A u64 that must fit a JS number below `limit`. */
  count(what: string, limit: number): number {
    const v = this.u64(what);
    if (v > BigInt(limit)) throw formatError(`${what} is ${v}, more than the limit ${limit}`);
    return Number(v);
  }
  string(what: string): string {
    const len = this.count(`the length of ${what}`, MAX_STRING_BYTES);
    this.need(len, what);
    const s = new TextDecoder('utf-8', { fatal: false }).decode(
      this.bytes.subarray(this.pos, this.pos + len),
    );
    this.pos += len;
    return s;
  }
  scalar(type: GgufType, what: string): GgufScalar {
    const size = scalarBytes(type);
    if (type === GgufType.STRING) return this.string(what);
    this.need(size, what);
    const p = this.pos;
    this.pos += size;
    switch (type) {
      case GgufType.U8:
        return this.view.getUint8(p);
      case GgufType.I8:
        return this.view.getInt8(p);
      case GgufType.U16:
        return this.view.getUint16(p, true);
      case GgufType.I16:
        return this.view.getInt16(p, true);
      case GgufType.U32:
        return this.view.getUint32(p, true);
      case GgufType.I32:
        return this.view.getInt32(p, true);
      case GgufType.F32:
        return this.view.getFloat32(p, true);
      case GgufType.F64:
        return this.view.getFloat64(p, true);
      case GgufType.U64:
        return this.view.getBigUint64(p, true);
      case GgufType.I64:
        return this.view.getBigInt64(p, true);
      case GgufType.BOOL: {
        const b = this.view.getUint8(p);
        if (b > 1) throw formatError(`${what}: a bool must be 0 or 1 but received ${b}`);
        return b === 1;
      }
      default:
        throw formatError(`${what}: value type ${type} is not a scalar`);
    }
  }
}

function scalarBytes(type: GgufType): number {
  switch (type) {
    case GgufType.U8:
    case GgufType.I8:
    case GgufType.BOOL:
      return 1;
    case GgufType.U16:
    case GgufType.I16:
      return 2;
    case GgufType.U32:
    case GgufType.I32:
    case GgufType.F32:
      return 4;
    case GgufType.U64:
    case GgufType.I64:
    case GgufType.F64:
      return 8;
    default:
      return 0;
  }
}

/**
 * Parse and validate a GGUF v3 file: magic, version, bounded counts, value types, unique keys
 * and tensor names, known tensor types, dimensions, aligned and non-overlapping tensor data
 * inside the file. Throws MODEL_FORMAT naming what is wrong.
 */
export function readGguf(bytes: Uint8Array): GgufFile {
  const r = new ByteReader(bytes);
  const magic = r.u32('the magic');
  if (magic !== GGUF_MAGIC) {
    throw formatError(`expected the magic "GGUF" but received 0x${magic.toString(16).padStart(8, '0')}`);
  }
  const version = r.u32('the version');
  if (version !== GGUF_VERSION) throw formatError(`expected version 3 but received ${version}`);
  const tensorCount = r.count('the tensor count', MAX_TENSORS);
  const kvCount = r.count('the metadata count', MAX_KV);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = r.string(`metadata key #${i}`);
    if (metadata.has(key)) throw formatError(`metadata key ${key} appears twice`);
    const type = r.u32(`the value type of ${key}`);
    if (type > GgufType.F64) throw formatError(`metadata ${key}: value type ${type} is not 0..12`);
    if (type === GgufType.ARRAY) {
      const itemType = r.u32(`the array type of ${key}`);
      if (itemType > GgufType.F64 || itemType === GgufType.ARRAY) {
        throw formatError(`metadata ${key}: array element type ${itemType} is not a scalar or string type`);
      }
      const n = r.count(`the array count of ${key}`, MAX_ARRAY_COUNT);
      const minBytes = itemType === GgufType.STRING ? 8 : scalarBytes(itemType);
      if (n * minBytes > r.remaining)
        throw formatError(`metadata ${key}: array of ${n} does not fit the file`);
      const value: GgufScalar[] = [];
      for (let j = 0; j < n; j++) value.push(r.scalar(itemType, `${key}[${j}]`));
      metadata.set(key, { type: GgufType.ARRAY, itemType, value });
    } else {
      metadata.set(key, { type, value: r.scalar(type, `metadata ${key}`) });
    }
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al) {
    if (al.type !== GgufType.U32)
      throw formatError(`general.alignment must be u32 but is ${GgufType[al.type]}`);
    alignment = Number(al.value);
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
      throw formatError(`general.alignment must be a power of two but is ${alignment}`);
    }
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = r.string(`tensor name #${i}`);
    if (names.has(name)) throw formatError(`tensor ${name} appears twice`);
    names.add(name);
    const nDims = r.u32(`the dimension count of ${name}`);
    if (nDims < 1 || nDims > MAX_DIMS)
      throw formatError(`tensor ${name}: dimension count must be 1..${MAX_DIMS} but is ${nDims}`);
    const ne: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const n = r.count(`dimension ${d} of ${name}`, 1 << 30);
      if (n === 0) throw formatError(`tensor ${name}: dimension ${d} is 0`);
      elements *= n;
      if (elements > 2 ** 40) throw formatError(`tensor ${name}: too many elements`);
      ne.push(n);
    }
    const type = r.u32(`the type of ${name}`);
    const elemBytes = TENSOR_ELEMENT_BYTES[type];
    if (elemBytes === undefined)
      throw formatError(`tensor ${name}: type ${type} is not F32 (0), I8 (24) or I32 (26)`);
    const offset = r.u64(`the offset of ${name}`);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER))
      throw formatError(`tensor ${name}: offset ${offset} is too large`);
    if (Number(offset) % alignment !== 0) {
      throw formatError(`tensor ${name}: offset ${offset} is not a multiple of the alignment ${alignment}`);
    }
    tensors.push({ name, type, ne, offset: Number(offset), byteLength: elements * elemBytes });
  }
  const dataOffset = r.pos + ((alignment - (r.pos % alignment)) % alignment);
  const dataBytes = bytes.length - dataOffset;
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const t of sorted) {
    if (t.offset < end)
      throw formatError(`tensor ${t.name}: data at offset ${t.offset} overlaps the previous tensor`);
    end = t.offset + t.byteLength;
    if (end > dataBytes) {
      throw formatError(
        `tensor ${t.name}: data [${t.offset}, ${end}) runs past the end of the file (data section has ${Math.max(0, dataBytes)} bytes)`,
      );
    }
  }
  return { version, alignment, metadata, tensors, dataOffset, bytes };
}

/** A copy of a tensor's values in its typed array (copied so the result is aligned). */
export function ggufTensorData(file: GgufFile, name: string): GgufTensorData {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw formatError(`tensor ${name} is missing`);
  const start = file.dataOffset + t.offset;
  // Copy into a fresh buffer (Buffer.slice would share memory, at an unaligned offset).
  const raw = new Uint8Array(t.byteLength);
  raw.set(file.bytes.subarray(start, start + t.byteLength));
  switch (t.type) {
    case GgmlType.F32:
      return new Float32Array(raw.buffer, 0, t.byteLength / 4);
    case GgmlType.I8:
      return new Int8Array(raw.buffer, 0, t.byteLength);
    case GgmlType.I32:
      return new Int32Array(raw.buffer, 0, t.byteLength / 4);
  }
}

/** Metadata value as plain JS (bigint as number when safe), for display and JSON. */
export function ggufPlain(v: GgufValue): unknown {
  const conv = (x: GgufScalar): unknown =>
    typeof x === 'bigint'
      ? x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER)
        ? Number(x)
        : x.toString()
      : x;
  return v.type === GgufType.ARRAY ? v.value.map(conv) : conv(v.value);
}
