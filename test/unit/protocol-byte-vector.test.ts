import { Builder } from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { GetResponse } from '../../src/protocol/fbs.js';
import { byteVector } from '../../src/protocol/encode-response.js';

describe('byteVector', () => {
  it('writes exactly what the generated per-byte helper writes, for every size and alignment', () => {
    for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 1023, 1024, 4099, 70_000]) {
      for (const pre of [0, 1, 3]) {
        const data = new Uint8Array(len).map((_, i) => (i * 31 + len) & 0xff);
        const build = (write: (b: Builder) => number): Uint8Array => {
          const b = new Builder(16); // small, so both paths must grow the buffer
          for (let i = 0; i < pre; i++) b.addInt8(i);
          const v = write(b);
          b.finish(v); // finishing fixes the position and root offset, as a real response does
          return b.asUint8Array();
        };
        const ours = build((b) => byteVector(b, data));
        const theirs = build((b) => GetResponse.createStateVector(b, data));
        expect(Buffer.from(ours).equals(Buffer.from(theirs)), `len ${len} pre ${pre}`).toBe(true);
      }
    }
  });
});
