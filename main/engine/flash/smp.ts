import * as cbor from 'cbor'
import { crc16xmodem } from '../util/crc16'

/**
 * SMP (Simple Management Protocol) over the serial console, as MCUboot's serial recovery
 * (boot/boot_serial/src/boot_serial.c: boot_serial_output, boot_serial_in_dec) and Zephyr's mcumgr speak it:
 *   packet = len(2, BE) | body | crc16(2, BE)   with len = body + 2 and CRC-16/XMODEM over body
 *   lines  = 0x06 0x09 + base64 (≤ 124 chars) + '\n', then 0x04 0x14 + next ≤ 124 chars + '\n' …
 */
export const FRAME_START = Uint8Array.of(0x06, 0x09)
export const FRAME_CONTINUE = Uint8Array.of(0x04, 0x14)
/** Base64 characters per line: 124 keeps every line ≤ 127 bytes and decodable on its own (multiple of 4). */
export const LINE_CHARS = 124

export const SMP_OP = { read: 0, readRsp: 1, write: 2, writeRsp: 3 } as const
export const SMP_GROUP = { os: 0, image: 1 } as const
export const SMP_ID = { echo: 0, reset: 5, params: 6, imageState: 0, imageUpload: 1 } as const
export const SMP_RC: Record<number, string> = {
  0: 'ok',
  1: 'unknown error',
  2: 'out of memory',
  3: 'invalid argument (image too large for the slot?)',
  4: 'timeout',
  5: 'no such entry',
  6: 'bad state',
  7: 'response too large',
  8: 'command not supported',
  9: 'corrupt',
  10: 'busy'
}

export interface SmpHeader {
  op: number
  flags: number
  length: number
  group: number
  seq: number
  id: number
}

export const SMP_HEADER_SIZE = 8

export function encodeSmpHeader(h: SmpHeader): Buffer {
  const b = Buffer.alloc(SMP_HEADER_SIZE)
  b[0] = h.op & 0x07
  b[1] = h.flags
  b.writeUInt16BE(h.length, 2)
  b.writeUInt16BE(h.group, 4)
  b[6] = h.seq & 0xff
  b[7] = h.id
  return b
}

export function decodeSmpHeader(b: Uint8Array): SmpHeader {
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  return { op: v[0]! & 0x07, flags: v[1]!, length: v.readUInt16BE(2), group: v.readUInt16BE(4), seq: v[6]!, id: v[7]! }
}

/** An SMP message: header + CBOR payload, ready to be framed. */
export function smpMessage(h: Omit<SmpHeader, 'length' | 'flags'>, payload: Record<string, unknown>): Buffer {
  const body = cbor.encodeCanonical(payload)
  return Buffer.concat([encodeSmpHeader({ ...h, flags: 0, length: body.length }), body])
}

/** The decoded packet (length + body + CRC) as it sits in the receiver's buffer; this is what MTUs limit. */
export function packetOf(body: Uint8Array): Buffer {
  const p = Buffer.alloc(body.length + 4)
  p.writeUInt16BE(body.length + 2, 0)
  p.set(body, 2)
  p.writeUInt16BE(crc16xmodem(body), body.length + 2)
  return p
}

/** Frames one SMP message (header + CBOR) into console lines. */
export function frameLines(body: Uint8Array): Buffer[] {
  const text = packetOf(body).toString('base64')
  const lines: Buffer[] = []
  for (let i = 0; i < text.length; i += LINE_CHARS) {
    lines.push(Buffer.concat([i === 0 ? FRAME_START : FRAME_CONTINUE, Buffer.from(text.slice(i, i + LINE_CHARS), 'latin1'), Buffer.from('\n')]))
  }
  return lines
}

/** Size of the decoded packet for an SMP message of `bodySize` bytes. */
export function packetSize(bodySize: number): number {
  return bodySize + 4
}

/**
 * Reassembles SMP packets from console bytes. Lines without a marker are console text (returned
 * through `text`); a packet with a bad length or CRC is dropped, as MCUboot does (no NAK: the
 * sender notices by timing out). `maxPacket` models the receiver's buffer.
 */
export class SmpLineDecoder {
  private line: number[] = []
  private base64 = ''
  private collecting = false
  dropped = 0

  constructor(
    private readonly onPacket: (body: Buffer) => void,
    private readonly options: { maxPacket?: number; onText?: (line: string) => void; onDrop?: (why: string) => void } = {}
  ) {}

  push(data: Uint8Array): void {
    for (const b of data) {
      if (b === 0x0a) {
        this.endLine(Buffer.from(this.line))
        this.line = []
      } else this.line.push(b)
    }
  }

  private drop(why: string): void {
    this.dropped++
    this.collecting = false
    this.base64 = ''
    this.options.onDrop?.(why)
  }

  private endLine(raw: Buffer): void {
    let line = raw
    while (line.length && line[0] === 0x0d) line = line.subarray(1)
    if (line.length >= 2 && line[0] === 0x06 && line[1] === 0x09) {
      this.collecting = true
      this.base64 = ''
    } else if (!(line.length >= 2 && line[0] === 0x04 && line[1] === 0x14)) {
      this.options.onText?.(line.toString('latin1').replace(/\r$/, ''))
      return
    } else if (!this.collecting) return
    this.base64 += line.subarray(2).toString('latin1').replace(/\r$/, '')
    const max = this.options.maxPacket ?? Infinity
    if ((this.base64.length / 4) * 3 > max + 3) return this.drop(`packet larger than the ${max}-byte receive buffer`)
    if (this.base64.length < 4 || this.base64.length % 4 !== 0) return
    const decoded = Buffer.from(this.base64, 'base64')
    if (decoded.length < 2) return
    const want = decoded.readUInt16BE(0)
    if (decoded.length - 2 < want) return // more lines to come
    if (decoded.length - 2 > want || want < 2) return this.drop(`length ${want} does not match the ${decoded.length - 2} bytes received`)
    if (decoded.length > max) return this.drop(`packet of ${decoded.length} bytes exceeds the ${max}-byte receive buffer`)
    const payload = decoded.subarray(2)
    if (crc16xmodem(payload) !== 0) return this.drop('CRC mismatch')
    this.collecting = false
    this.base64 = ''
    this.onPacket(Buffer.from(payload.subarray(0, payload.length - 2)))
  }
}

/** Decodes the CBOR payload of an SMP body; a body without payload decodes as {}. */
export function smpPayload(body: Buffer): Record<string, unknown> | null {
  const data = body.subarray(SMP_HEADER_SIZE)
  if (data.length === 0) return {}
  try {
    const v: unknown = cbor.decodeFirstSync(data)
    return v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Map) ? (v as Record<string, unknown>) : null
  } catch {
    return null
  }
}
