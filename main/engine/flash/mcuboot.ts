import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { FlashlineError } from '../errors'
import type { DeviceIdentity, FlashImage, FlashResult } from '../model'
import type { Transport } from '../transport/transport'
import type { FlashOptions } from './flasher'
import { listedVersionMatches, mcubootImageIntact, parseMcubootImage } from './mcuboot-image'
import { parseSignalSequence, runSignalSequence } from './signal-sequence'
import { frameLines, packetSize, SMP_GROUP, SMP_HEADER_SIZE, SMP_ID, SMP_OP, SMP_RC, smpMessage, SmpLineDecoder, smpPayload, decodeSmpHeader } from './smp'
import * as cbor from 'cbor'

export interface McubootOptions {
  /** Image number (multi-image builds); slot 0 of that image receives the upload. */
  image?: number
  /** Largest decoded SMP packet we send. Default: what the device reports (mcumgr params), else MCUboot's 512. */
  mtu?: number
  /** Pause before each continuation line, for receivers with tiny line buffers (mcumgr uses 20 ms). */
  lineDelayMs?: number
  /** Per-request answer timeout; the first chunk (slot erase) gets `eraseTimeoutMs`. */
  timeoutMs?: number
  eraseTimeoutMs?: number
  retries?: number
  /** Reset after the upload so MCUboot boots (or swaps to) the new image. Default true. */
  reset?: boolean
  /** DTR/RTS sequence to enter serial recovery (stm32flash -i syntax). */
  entry?: string
  log?: (message: string) => void
}

const DEFAULT_MTU = 512

/** One SMP conversation over the console: numbered requests, answers matched by sequence, console text kept. */
class SmpSession {
  private seq = Math.floor(Math.random() * 256)
  private packets: Buffer[] = []
  private text: string[] = []
  private readonly decoder: SmpLineDecoder

  constructor(
    private readonly t: Transport,
    private readonly o: { lineDelayMs: number; signal?: AbortSignal }
  ) {
    this.decoder = new SmpLineDecoder((p) => this.packets.push(p), { onText: (l) => l.trim() && this.text.push(l) })
  }

  /** Sends one request and waits for its answer (same group, id and sequence); null on timeout. */
  async request(op: number, group: number, id: number, payload: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown> | null> {
    if (this.o.signal?.aborted) throw new FlashlineError('interrupted', 'aborted', 'interrupted')
    const seq = (this.seq = (this.seq + 1) & 0xff)
    const lines = frameLines(smpMessage({ op, group, seq, id }, payload))
    if (this.o.lineDelayMs > 0) {
      for (let i = 0; i < lines.length; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, this.o.lineDelayMs))
        await this.t.write(lines[i]!)
      }
    } else await this.t.write(Buffer.concat(lines))
    const deadline = Date.now() + timeoutMs
    for (;;) {
      while (this.packets.length) {
        const body = this.packets.shift()!
        if (body.length < SMP_HEADER_SIZE) continue
        const h = decodeSmpHeader(body)
        if (h.seq !== seq || h.group !== group || h.id !== id || h.op !== op + 1) continue // a late answer to an earlier try
        const answer = smpPayload(body)
        if (!answer) throw new FlashlineError('device', 'smp-bad-answer', `the device answered SMP group ${group} command ${id} with a payload that is not a CBOR map`)
        return answer
      }
      if (this.o.signal?.aborted) throw new FlashlineError('interrupted', 'aborted', 'interrupted')
      const left = deadline - Date.now()
      if (left <= 0) return null
      try {
        this.decoder.push(await this.t.readSome(left))
      } catch (e) {
        if (e instanceof FlashlineError && e.code === 'timeout') return null
        throw e
      }
    }
  }

  /** Console lines the device printed between SMP packets (e.g. its boot banner). */
  takeText(): string {
    const t = this.text.join('\n')
    this.text = []
    return t
  }
}

function rcError(rc: number, what: string): FlashlineError {
  return new FlashlineError('device', 'smp-rc', `the device refused ${what}: rc ${rc} (${SMP_RC[rc] ?? 'unknown code'})`)
}

/** Sends an echo whose packet is exactly `mtu` bytes: any answer (even rc 8, echo not built in) proves the device took it whole. */
async function fitsMtu(session: SmpSession, mtu: number): Promise<boolean> {
  const n = largestFitting(mtu, (k) => ({ d: 'x'.repeat(k) }))
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await session.request(SMP_OP.write, SMP_GROUP.os, SMP_ID.echo, { d: 'x'.repeat(n) }, 1000)) return true
  }
  return false
}

/** Largest n for which the SMP packet carrying `payload(n)` is at most `mtu` bytes decoded (CBOR length headers grow with n). */
function largestFitting(mtu: number, payload: (n: number) => Record<string, unknown>): number {
  const size = (n: number): number => packetSize(SMP_HEADER_SIZE + cbor.encodeCanonical(payload(n)).length)
  let n = Math.max(0, mtu - size(0))
  while (n > 0 && size(n) > mtu) n--
  return n
}

/** Largest data length whose upload request still fits `mtu` as a decoded packet; kept to 16-byte units (flash write alignment). */
export function chunkLength(mtu: number, fields: Record<string, unknown>): number {
  let n = largestFitting(mtu, (k) => ({ ...fields, data: Buffer.alloc(k) }))
  n -= n % 16
  if (n < 16) throw new FlashlineError('usage', 'mtu-too-small', `an SMP MTU of ${mtu} bytes leaves no room for image data; use at least 128`)
  return n
}

/** The image list (SMP group 1, id 0): what each slot holds. Three tries; no answer at all is 'smp-no-answer'. */
async function listSlots(session: SmpSession, what: string, timeoutMs: number): Promise<Array<Record<string, unknown>>> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const r = await session.request(SMP_OP.read, SMP_GROUP.image, SMP_ID.imageState, {}, attempt === 1 ? 1500 : timeoutMs)
    if (!r) continue
    if (typeof r['rc'] === 'number' && r['rc'] !== 0) throw rcError(r['rc'], what)
    return Array.isArray(r['images']) ? (r['images'] as Array<Record<string, unknown>>) : []
  }
  throw new FlashlineError(
    'device',
    'smp-no-answer',
    `no SMP answer to ${what}: put the device in MCUboot serial recovery (hold its recovery button or pin while resetting, or set an entry sequence) and check the port and baud rate`
  )
}

/** One slot as the image list gives it; fields the device did not send are left out (MCUboot's bs_list sends no flags). */
export interface ListedSlot {
  image?: number
  slot: number
  version?: string
  /** SHA-256 of the image as hex (MCUboot: BOOT_SERIAL_IMG_GRP_HASH). */
  hash?: string
  bootable?: boolean
  confirmed?: boolean
  active?: boolean
  pending?: boolean
}

function listedSlot(e: Record<string, unknown>): ListedSlot {
  const out: ListedSlot = { slot: typeof e['slot'] === 'number' ? e['slot'] : 0 }
  if (typeof e['image'] === 'number') out.image = e['image']
  if (typeof e['version'] === 'string') out.version = e['version']
  if (Buffer.isBuffer(e['hash']) || e['hash'] instanceof Uint8Array) out.hash = Buffer.from(e['hash']).toString('hex')
  for (const flag of ['bootable', 'confirmed', 'active', 'pending'] as const) if (typeof e[flag] === 'boolean') out[flag] = e[flag]
  return out
}

/**
 * Asks MCUboot serial recovery what it holds, writing nothing: the image list and, when the
 * server answers it (Zephyr's SMP server does, MCUboot answers rc 8), "mcumgr params". Serial
 * recovery names no unit (boot_serial.c serves no device id), so there is no unit id. The entry
 * sequence runs first and the exit sequence last; no reset is sent, so the device stays in recovery.
 */
export async function identifyMcuboot(t: Transport, options: { image?: number; entry?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<DeviceIdentity> {
  const imageNo = options.image ?? 0
  const session = new SmpSession(t, { lineDelayMs: 0, signal: options.signal })
  const sequence = options.entry ? parseSignalSequence(options.entry) : null
  if (sequence) await runSignalSequence(t, sequence.entry)
  try {
    let listed: Array<Record<string, unknown>>
    try {
      listed = await listSlots(session, 'the image list', options.timeoutMs ?? 1500)
    } catch (e) {
      if (e instanceof FlashlineError && e.code === 'smp-no-answer') throw new FlashlineError('device', 'no-answer', e.message)
      throw e
    }
    const details: Record<string, unknown> = { image: imageNo, slots: listed.map(listedSlot) }
    const params = await session.request(SMP_OP.read, SMP_GROUP.os, SMP_ID.params, {}, 1000)
    if (params && (params['rc'] ?? 0) === 0 && typeof params['buf_size'] === 'number') details['params'] = { bufSize: params['buf_size'], bufCount: params['buf_count'] }
    const printed = session.takeText()
    if (printed) details['console'] = printed
    return { protocol: 'mcuboot', chip: `MCUboot image ${imageNo}`, details }
  } finally {
    if (sequence) await runSignalSequence(t, sequence.exit).catch(() => undefined)
  }
}

/**
 * Uploads an MCUboot image over serial recovery: image list (identify), optional MTU query,
 * chunked upload resuming from the offset the device asks for, image list again (the device's
 * view of version and hash must match the file), reset.
 */
export async function flashMcuboot(t: Transport, image: FlashImage, options: McubootOptions & FlashOptions = {}): Promise<FlashResult> {
  const data = await readFile(image.path)
  if (data.length !== image.size) throw new FlashlineError('device', 'file-changed', `${image.path} is ${data.length} bytes, expected ${image.size}; was it changed during the flash?`)
  const info = parseMcubootImage(data)
  if (!info) throw new FlashlineError('integrity', 'not-mcuboot-image', `${image.name} is not an MCUboot image (no 0x96f3b83d header): sign it with imgtool (imgtool sign --header-size 0x200 …) and flash the signed file`)
  if (info.tlvProblem) throw new FlashlineError('integrity', 'mcuboot-tlv', `${image.name}: ${info.tlvProblem}; MCUboot would refuse to boot it: sign the image again with imgtool`)
  if (info.hash && !mcubootImageIntact(data)) throw new FlashlineError('integrity', 'mcuboot-hash', `${image.name}: the SHA-256 TLV does not match the image; MCUboot would refuse to boot it`)
  const log = options.log ?? (() => undefined)
  const imageNo = options.image ?? 0
  const timeoutMs = options.timeoutMs ?? 3000
  const retries = options.retries ?? 5
  const session = new SmpSession(t, { lineDelayMs: options.lineDelayMs ?? 0, signal: options.signal })

  const sequence = options.entry ? parseSignalSequence(options.entry) : null
  if (sequence) await runSignalSequence(t, sequence.entry)
  options.onProgress?.({ stage: 'connect', done: 0, total: data.length })

  const listImages = (what: string) => listSlots(session, what, timeoutMs)
  const before = await listImages('the image list')
  const slotOf = (list: Array<Record<string, unknown>>) => list.find((e) => (e['image'] ?? 0) === imageNo && (e['slot'] ?? 0) === 0)
  const old = slotOf(before)
  log(`MCUboot serial recovery: image ${imageNo} slot 0 holds ${old ? `version ${String(old['version'])}` : 'no valid image'}`)

  let mtu = options.mtu ?? DEFAULT_MTU
  const params = await session.request(SMP_OP.read, SMP_GROUP.os, SMP_ID.params, {}, 1000)
  if (params && params['rc'] === undefined && typeof params['buf_size'] === 'number') {
    mtu = options.mtu ? Math.min(options.mtu, params['buf_size']) : params['buf_size']
    log(`device receive buffer ${params['buf_size']} bytes; using an MTU of ${mtu}`)
  }
  if (mtu > DEFAULT_MTU && !(await fitsMtu(session, mtu))) {
    // MCUboot drops a packet larger than its buffer without a word; a full-size echo shows whether it fits.
    log(`no answer to a ${mtu}-byte packet; the device's receive buffer is smaller: falling back to an MTU of ${DEFAULT_MTU}`)
    mtu = DEFAULT_MTU
  }

  const sha = createHash('sha256').update(data).digest()
  const firstFields = { image: imageNo, len: data.length, off: 0, sha }
  const firstLen = chunkLength(mtu, firstFields)
  const nextLen = chunkLength(mtu, { off: data.length })
  options.onProgress?.({ stage: 'write', done: 0, total: data.length })
  let off = 0
  let stalls = 0
  while (off < data.length) {
    const first = off === 0
    const len = Math.min(first ? firstLen : nextLen, data.length - off)
    const payload = first ? { ...firstFields, data: data.subarray(0, len) } : { off, data: data.subarray(off, off + len) }
    let answer: Record<string, unknown> | null = null
    for (let attempt = 1; attempt <= retries && !answer; attempt++) {
      // Offset 0 makes MCUboot erase the whole slot before it answers.
      answer = await session.request(SMP_OP.write, SMP_GROUP.image, SMP_ID.imageUpload, payload, first ? (options.eraseTimeoutMs ?? 30_000) : timeoutMs)
      if (!answer) log(`no answer to the chunk at offset ${off} (attempt ${attempt}/${retries}); sending it again`)
    }
    if (!answer) throw new FlashlineError('device', 'smp-timeout', `the device stopped answering the upload at offset ${off} of ${data.length}`)
    const rc = typeof answer['rc'] === 'number' ? answer['rc'] : 0
    if (rc !== 0) {
      // boot_serial.c bs_upload answers EINVAL both for an image number without a flash area and for a file too large for it
      const why = imageNo === 0 ? `${data.length} bytes do not fit image 0's slot` : `the device has no slot for image ${imageNo} (a single-image build?), or ${data.length} bytes do not fit it`
      throw rc === 3 && first ? new FlashlineError('device', 'image-too-large', `the device refused the upload: ${why} (rc 3)`) : rcError(rc, `the chunk at offset ${off}`)
    }
    const next = answer['off']
    if (typeof next !== 'number' || next < 0 || next > data.length) throw new FlashlineError('device', 'smp-bad-answer', `the device answered the chunk at offset ${off} with offset ${String(next)}`)
    // The device writes whole alignment units and asks again for the rest; a lost answer shows up as a jump.
    if (next <= off && ++stalls > retries) throw new FlashlineError('device', 'smp-no-progress', `the upload makes no progress at offset ${off}: the device keeps asking for offset ${next}`)
    if (next > off) stalls = 0
    off = next
    options.onProgress?.({ stage: 'write', done: off, total: data.length })
  }

  options.onProgress?.({ stage: 'verify', done: 0, total: data.length })
  const after = slotOf(await listImages('the image list after the upload'))
  if (!after) throw new FlashlineError('device', 'verify-failed', `after the upload the device lists no valid image in image ${imageNo} slot 0 (the upload did not take)`)
  // Compared as numbers: MCUboot lists "1.2.3" for build 0 and "1.2.3.4" otherwise (bs_list_img_ver).
  if (!listedVersionMatches(after['version'], info.versionNumbers)) throw new FlashlineError('device', 'verify-failed', `after the upload the device lists version ${String(after['version'])} in slot 0, but the file is version ${info.version}`)
  const listedHash = after['hash']
  const hashChecked = Buffer.isBuffer(listedHash) || listedHash instanceof Uint8Array
  if (hashChecked && info.hash && !Buffer.from(listedHash).equals(info.hash)) throw new FlashlineError('device', 'verify-failed', `the device lists image hash ${Buffer.from(listedHash).toString('hex')} for slot 0, but the file's is ${info.hash.toString('hex')}`)
  options.onProgress?.({ stage: 'verify', done: data.length, total: data.length })

  let bootLog = session.takeText()
  if (options.reset !== false) {
    const r = await session.request(SMP_OP.write, SMP_GROUP.os, SMP_ID.reset, {}, timeoutMs)
    if (!r) log('no answer to the reset command; power-cycle the device if it does not restart')
    else if (typeof r['rc'] === 'number' && r['rc'] !== 0) throw rcError(r['rc'], 'the reset')
    if (sequence) await runSignalSequence(t, sequence.exit)
    bootLog = [bootLog, session.takeText()].filter(Boolean).join('\n')
  }
  return {
    bytesWritten: data.length,
    verified: 'device',
    // Serial recovery names no unit (MCUboot boot_serial.c, boot_serial_input: image state, upload and slot info, echo,
    // reset and MCUmgr params only), so no `id`; the record falls back on the USB adapter (usb_serial, usb_location).
    identity: { protocol: 'mcuboot', chip: `MCUboot image ${imageNo}`, details: { image: imageNo, previousVersion: old?.['version'] ?? null, version: info.version, hashChecked, mtu } },
    ...(bootLog ? { bootLog: bootLog + '\n' } : {})
  }
}
