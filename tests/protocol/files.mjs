// Files the upload tests send: real images and documents, built here so that no binary fixture
// is checked in.
import { randomBytes } from "node:crypto";
import { deflateSync, crc32 } from "node:zlib";

/** A real PNG of `w` x `h` pixels (RGB, a gradient), built with zlib. */
export function png(w, h) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * (w * 3 + 1) + 1 + x * 3;
      rows[i] = (x * 255) / w;
      rows[i + 1] = (y * 255) / h;
      rows[i + 2] = 128;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(rows)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A PNG whose header claims `side` x `side` pixels: a few bytes that would decode to gigabytes. */
export function bomb(side) {
  const p = png(4, 4);
  p.writeUInt32BE(side, 16);
  p.writeUInt32BE(side, 20);
  // Fix the IHDR CRC so that the header itself is valid.
  p.writeUInt32BE(crc32(p.subarray(12, 29)), 29);
  return p;
}

/** A PDF (as the server sniffs it) of `size` bytes, random past its header. */
export function pdf(size) {
  const head = Buffer.from("%PDF-1.4\n%binary\n");
  return Buffer.concat([head, randomBytes(size - head.length)]);
}

function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
