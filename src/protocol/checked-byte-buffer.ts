import * as flatbuffers from 'flatbuffers';

/** Thrown inside the decoder only; `decodeClientRequest` turns it into a `malformed` result. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/**
 * A flatbuffers `ByteBuffer` whose every read is bounds-checked.
 *
 * The flatbuffers JS runtime has no verifier: reading past the end of a `Uint8Array` yields
 * `undefined`, which its bit arithmetic turns into plausible numbers, so a hostile frame could make
 * the generated accessors wander or report a vector of two billion elements. Every primitive read
 * of the base class funnels through `readUint8`, `readUint16` and `readInt32` (the others call
 * them through `this`), so overriding those three makes the generated code safe to point at any
 * bytes. A read budget bounds the work a frame can cause even if offsets loop back on themselves.
 *
 * Byte vectors are read through the generated `xxxArray()` accessors, which build a `Uint8Array`
 * view on the underlying `ArrayBuffer`; that constructor throws a `RangeError` outside the buffer,
 * so the buffer handed in must span its whole `ArrayBuffer` (see `exactBytes`).
 */
export class CheckedByteBuffer extends flatbuffers.ByteBuffer {
  private readsLeft: number;
  private readonly size: number;

  constructor(bytes: Uint8Array, readBudget: number) {
    super(bytes);
    this.size = bytes.length;
    this.readsLeft = readBudget;
  }

  private check(offset: number, width: number): void {
    if (--this.readsLeft < 0) throw new FrameError('frame needs too much work to decode');
    if (!Number.isInteger(offset) || offset < 0 || offset + width > this.size) {
      throw new FrameError(`offset ${offset} out of bounds of a ${this.size}-byte frame`);
    }
  }

  override readUint8(offset: number): number {
    this.check(offset, 1);
    return super.readUint8(offset);
  }

  override readUint16(offset: number): number {
    this.check(offset, 2);
    return super.readUint16(offset);
  }

  override readInt32(offset: number): number {
    this.check(offset, 4);
    return super.readInt32(offset);
  }

  override __string(offset: number, optEncoding?: flatbuffers.Encoding): string | Uint8Array {
    const start = offset + this.readInt32(offset);
    const length = this.readInt32(start);
    if (length < 0 || start + 4 + length > this.size) {
      throw new FrameError(`string of ${length} bytes overruns the frame`);
    }
    return super.__string(offset, optEncoding);
  }
}

/**
 * The frame as a `Uint8Array` that spans its own `ArrayBuffer`, copying only when needed. A Node
 * `Buffer` is often a slice of a larger pooled slab; views made from offsets in the frame must
 * not be able to reach the bytes around it.
 */
export function exactBytes(frame: Uint8Array): Uint8Array {
  if (frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength) return frame;
  return new Uint8Array(frame);
}
