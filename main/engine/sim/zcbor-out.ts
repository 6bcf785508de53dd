/**
 * CBOR as MCUboot's and Zephyr's SMP responders write it with zcbor built without ZCBOR_CANONICAL
 * (zcbor src/zcbor_encode.c: list_map_start_encode / list_map_end_encode): maps and lists are
 * indefinite-length (0xbf / 0x9f … 0xff); integers, strings and byte strings use the shortest head.
 * Zephyr's tests/subsys/mgmt/mcumgr/os_mgmt_echo expects exactly this shape (0xbf … 0xff).
 */
export type ZValue = number | string | boolean | Uint8Array | { list: ZValue[] } | { map: ZEntries }
/** Map entries in the order the responder writes them. */
export type ZEntries = Array<[string, ZValue]>

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.of((major << 5) | n)
  if (n < 0x100) return Buffer.of((major << 5) | 24, n)
  if (n < 0x10000) return Buffer.of((major << 5) | 25, n >> 8, n & 0xff)
  const b = Buffer.alloc(5)
  b[0] = (major << 5) | 26
  b.writeUInt32BE(n, 1)
  return b
}

function encode(v: ZValue, out: Buffer[]): void {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || Math.abs(v) > 0xffffffff) throw new Error(`zcbor-out: ${v} is not a 32-bit integer`)
    out.push(v >= 0 ? head(0, v) : head(1, -1 - v))
  } else if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8')
    out.push(head(3, s.length), s)
  } else if (typeof v === 'boolean') {
    out.push(Buffer.of(v ? 0xf5 : 0xf4))
  } else if (v instanceof Uint8Array) {
    out.push(head(2, v.length), Buffer.from(v))
  } else if ('list' in v) {
    out.push(Buffer.of(0x9f))
    for (const item of v.list) encode(item, out)
    out.push(Buffer.of(0xff))
  } else {
    out.push(Buffer.of(0xbf))
    for (const [k, item] of v.map) {
      encode(k, out)
      encode(item, out)
    }
    out.push(Buffer.of(0xff))
  }
}

/** Encodes a response payload: a map whose entries are written in the given order. */
export function zcborMap(entries: ZEntries): Buffer {
  const out: Buffer[] = []
  encode({ map: entries }, out)
  return Buffer.concat(out)
}
