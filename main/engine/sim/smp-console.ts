/**
 * The device side of SMP over a serial console, written from MCUboot's boot/boot_serial/src/boot_serial.c
 * (boot_serial_read_console, boot_serial_in_dec, boot_serial_input, boot_serial_output) and
 * boot_serial_priv.h (struct nmgr_hdr, SHELL_NLIP_* markers). Independent of the flasher's framing on
 * purpose: a simulator that shared it would agree with the flasher's mistakes.
 *
 *   line   = 0x06 0x09 (SHELL_NLIP_PKT_START1/2) or 0x04 0x14 (SHELL_NLIP_DATA_START1/2), base64, '\n'
 *   packet = total length u16 BE | nmgr_hdr (8 bytes) | CBOR | crc16 u16 BE, CRC-16/ITU-T (XMODEM) seed 0
 *            over header + CBOR; total length counts header + CBOR + CRC
 *   nmgr_hdr = op:3 (low bits) version:2 _res:3 | flags u8 | len u16 BE | group u16 BE | seq u8 | id u8
 */

/** SHELL_NLIP_PKT_START1/2 and SHELL_NLIP_DATA_START1/2 (boot_serial_priv.h). */
const PKT_START = [6, 9] as const
const DATA_START = [4, 20] as const
/** BOOT_SERIAL_FRAME_MTU: 127 - start (2) - '\n' (1) base64 characters per line. */
const FRAME_MTU = 124
export const NMGR_HDR_SIZE = 8

/** crc16_itu_t(0, …) as Zephyr's boot_serial build calls it: poly 0x1021, MSB first, no final xor. */
export function crc16ItuT(data: Uint8Array, seed = 0): number {
  let crc = seed
  for (const byte of data) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

export interface NmgrHeader {
  op: number
  version: number
  flags: number
  len: number
  group: number
  seq: number
  id: number
}

export function readNmgrHeader(b: Uint8Array): NmgrHeader {
  return { op: b[0]! & 0x07, version: (b[0]! >> 3) & 0x03, flags: b[1]!, len: (b[2]! << 8) | b[3]!, group: (b[4]! << 8) | b[5]!, seq: b[6]!, id: b[7]! }
}

/** The response body as boot_serial_output builds it: the request header with op + 1, flags 0, len = CBOR length. */
export function responseBody(request: NmgrHeader, cbor: Uint8Array): Buffer {
  const out = Buffer.alloc(NMGR_HDR_SIZE + cbor.length)
  out[0] = ((request.op + 1) & 0x07) | (request.version << 3)
  out[1] = 0
  out.writeUInt16BE(cbor.length, 2)
  out.writeUInt16BE(request.group, 4)
  out[6] = request.seq
  out[7] = request.id
  out.set(cbor, NMGR_HDR_SIZE)
  return out
}

/** boot_serial_output: length, body, CRC, base64, cut into lines of at most 124 characters. */
export function frameBody(body: Uint8Array): Buffer {
  const raw = Buffer.alloc(2 + body.length + 2)
  raw.writeUInt16BE(body.length + 2, 0)
  raw.set(body, 2)
  raw.writeUInt16BE(crc16ItuT(body), 2 + body.length)
  const text = raw.toString('base64')
  const parts: Buffer[] = []
  for (let out = 0; out < text.length; out += FRAME_MTU) {
    parts.push(Buffer.from(out === 0 ? PKT_START : DATA_START), Buffer.from(text.slice(out, out + FRAME_MTU), 'latin1'), Buffer.from('\n'))
  }
  return Buffer.concat(parts)
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * boot_serial_read_console + boot_serial_in_dec: collects console bytes into lines (a line that fills
 * the input buffer without a newline is thrown away), decodes framed lines into one decode buffer of
 * `receiveSize` + 1 bytes (MCUBOOT_SERIAL_MAX_RECEIVE_SIZE), and hands over a packet once its length
 * matches and its CRC checks. Anything wrong — too big, bad base64, bad CRC — is dropped without a word,
 * as the bootloader does: the sender only notices that no answer comes.
 */
export class ConsoleReceiver {
  private line: number[] = []
  private decoded = Buffer.alloc(0)

  constructor(
    private readonly receiveSize: number,
    private readonly onPacket: (body: Buffer) => void,
    private readonly onDrop: (why: string) => void = () => undefined
  ) {}

  push(data: Uint8Array): void {
    for (const byte of data) {
      this.line.push(byte)
      if (byte === 0x0a) {
        this.endLine(Buffer.from(this.line))
        this.line = []
      } else if (this.line.length >= this.receiveSize + 1) {
        this.line = [] // "Full line, no newline yet. Reset the input buffer."
      }
    }
  }

  private endLine(line: Buffer): void {
    let end = line.length - 1 // the '\n'
    if (end > 0 && line[end - 1] === 0x0d) end--
    const isStart = line[0] === PKT_START[0] && line[1] === PKT_START[1]
    const isData = line[0] === DATA_START[0] && line[1] === DATA_START[1]
    if (!isStart && !isData) return // console text
    if (isStart) this.decoded = Buffer.alloc(0)
    const text = line.subarray(2, end).toString('latin1')
    if (text.length % 4 !== 0 || !BASE64.test(text)) return this.onDrop('a line that is not base64')
    const chunk = Buffer.from(text, 'base64')
    // The decode buffer holds receiveSize + 1 bytes; a line that would fill it is refused.
    if (this.decoded.length + chunk.length >= this.receiveSize + 1) return this.onDrop(`a packet larger than the ${this.receiveSize}-byte receive buffer`)
    this.decoded = Buffer.concat([this.decoded, chunk])
    if (this.decoded.length <= 2) return
    const len = this.decoded.readUInt16BE(0)
    if (len !== this.decoded.length - 2) return // more lines to come (or never: the next start line resets)
    const packet = this.decoded.subarray(2)
    if (crc16ItuT(packet) !== 0 || len <= 2) return this.onDrop('a packet whose CRC does not check')
    // The decode buffer is left as it is (only a start line resets it), as boot_serial_in_dec leaves it.
    this.onPacket(Buffer.from(packet.subarray(0, packet.length - 2)))
  }
}
