/**
 * CRC-32C (Castagnoli), the checksum etcd's Hash and HashKV report, computed incrementally.
 *
 * Owns: the checksum. Never: what is fed to it (state_hash.ts decides).
 */

const POLYNOMIAL = 0x82f63b78;

/** Eight tables: slicing-by-8 reads a word at a time, several times faster than a byte at a time. */
const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) tables[t][n] = (tables[t - 1][n] >>> 8) ^ tables[0][tables[t - 1][n] & 0xff];
  }
  return tables;
})();

export class Crc32c {
  #crc = 0xffffffff;

  update(bytes: Uint8Array): this {
    const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
    let crc = this.#crc;
    let i = 0;
    for (; i + 8 <= bytes.length; i += 8) {
      const lo = (crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>> 0;
      crc = t7[lo & 0xff] ^ t6[(lo >>> 8) & 0xff] ^ t5[(lo >>> 16) & 0xff] ^ t4[lo >>> 24] ^
        t3[bytes[i + 4]] ^ t2[bytes[i + 5]] ^ t1[bytes[i + 6]] ^ t0[bytes[i + 7]];
    }
    for (; i < bytes.length; i++) crc = t0[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
    this.#crc = crc;
    return this;
  }

  /** The checksum of everything fed so far, as an unsigned 32-bit number. */
  get value(): number {
    return (this.#crc ^ 0xffffffff) >>> 0;
  }
}
