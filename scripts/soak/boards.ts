/**
 * The simulated boards of the soak: which bootloader each one runs, the slot settings that reach it,
 * the packages it takes, how a fault is armed on it, and how to read back what it holds.
 */
import { EventEmitter } from 'node:events'
import { makeFirmwareImage } from '../../main/engine/sim/firmware-image'
import { buildMcubootImage } from '../../main/engine/sim/imgtool-image'
import { McubootDevice, type McubootPersonality } from '../../main/engine/sim/mcuboot-device'
import { Stm32Device, type Stm32Personality } from '../../main/engine/sim/stm32-device'
import { YmodemDevice, type YmodemPersonality } from '../../main/engine/sim/ymodem-device'
import { MemoryTransport } from '../../main/engine/transport/memory'
import type { Transport } from '../../main/engine/transport/transport'

export type SoakProtocol = 'ymodem' | 'stm32' | 'mcuboot'

export type BoardSpec =
  | { protocol: 'ymodem'; personality: YmodemPersonality }
  | { protocol: 'stm32'; personality: Stm32Personality }
  | { protocol: 'mcuboot'; personality: McubootPersonality }

export type SimDevice = YmodemDevice | Stm32Device | McubootDevice

/** A fault the board injects into the next job: the device hangs, answers wrongly once, or its port goes away. */
export type DeviceFault =
  | { kind: 'stall'; at: number }
  | { kind: 'corrupt'; at: number; byte?: number }
  | { kind: 'lose'; afterBytes: number }

const PROBE = { pattern: 'version[: ]+(\\S+)', timeoutSeconds: 3 }

export function makeDevice(spec: BoardSpec, uid?: Buffer): SimDevice {
  switch (spec.protocol) {
    case 'ymodem':
      return new YmodemDevice({ personality: spec.personality, version: '1.0.0', requestIntervalMs: 200 })
    case 'stm32':
      return new Stm32Device(spec.personality, { version: '1.0.0', uid })
    case 'mcuboot':
      return new McubootDevice({ personality: spec.personality, version: '1.0.0', eraseMs: 5 })
  }
}

/**
 * Slot settings for a board (as a station file's device without id and currentVersion). `pty`: the
 * port is a pty, which carries no parity, so the STM32's 8E1 becomes 8N1.
 */
export function slotSettings(spec: BoardSpec, port: string, pty = false): Record<string, unknown> {
  const s: Record<string, unknown> = { port, protocol: spec.protocol, probe: PROBE }
  if (spec.protocol === 'ymodem' && spec.personality === 'mico') s['menuCommand'] = '1\r'
  if (spec.protocol === 'stm32' && pty) s['parity'] = 'none'
  return s
}

/** The package a board takes: a plain image (YMODEM, STM32) or an MCUboot image, with its version marked inside. */
export function makePackage(spec: BoardSpec, version: string, size: number, seed: number): Buffer {
  const app = makeFirmwareImage({ version, size, seed })
  if (spec.protocol !== 'mcuboot') return app
  const [major, minor, revision] = version.split('.').map((n) => Number(n))
  return buildMcubootImage(app, { major: major!, minor: minor!, revision: revision! })
}

/** Whether the device holds exactly `pkg` where a flash puts it. */
export function holds(device: SimDevice, pkg: Buffer): boolean {
  if (device instanceof YmodemDevice) return device.image.equals(pkg)
  if (device instanceof Stm32Device) return device.flash.subarray(0, pkg.length).equals(pkg)
  return device.image?.equals(pkg) ?? false
}

/** Arms a device-side fault (stall, corrupt reply) for the next session; 'lose' is the port's, see SoakBoard. */
export function armDeviceFault(device: SimDevice, fault: DeviceFault): void {
  if (fault.kind === 'lose') return
  if (device instanceof YmodemDevice) {
    if (fault.kind === 'stall') device.faults.stallAfterBlocks = fault.at
    else Object.assign(device.faults, { corruptReplyAtBlock: fault.at, corruptReplyByte: fault.byte })
  } else if (device instanceof Stm32Device) {
    if (fault.kind === 'stall') device.faults.stallAfterWrites = fault.at
    else Object.assign(device.faults, { corruptReplyAtWrite: fault.at, corruptReplyByte: fault.byte })
  } else if (fault.kind === 'stall') device.faults.stallAfterUploads = fault.at
  else device.faults.corruptReplyAtUpload = fault.at
}

/** Clears whatever was armed and did not fire (the job failed earlier, or ended before reaching it). */
export function disarm(device: SimDevice): void {
  for (const k of Object.keys(device.faults)) delete (device.faults as Record<string, unknown>)[k]
}

/** How many protocol units (YMODEM blocks, STM32 writes, MCUboot upload chunks, roughly) a package of `size` bytes takes. */
export function unitsOf(protocol: SoakProtocol, size: number): number {
  if (protocol === 'ymodem') return Math.ceil(size / 1024)
  if (protocol === 'stm32') return Math.ceil(size / 256)
  return Math.max(1, Math.floor(size / 420))
}

/** The host end of the memory link: counts what the host writes so the board can pull the cable mid-flash. */
class CountingTransport extends MemoryTransport {
  constructor(
    path: string,
    private readonly onWrite: (t: CountingTransport, n: number) => void
  ) {
    super(path)
  }

  override async write(data: Uint8Array): Promise<void> {
    await super.write(data)
    this.onWrite(this, data.length)
  }
}

/**
 * One in-process board (`sim:<name>`): every open connects a fresh memory cable to the same device.
 * `loseAfterBytes` pulls the cable (MemoryTransport.lose) once the host has written that many bytes
 * since it was set: the port vanishes mid-flash, as an unplugged USB adapter does.
 */
export class SoakBoard extends EventEmitter {
  readonly device: SimDevice
  readonly port: string
  private loseAfter?: number
  private written = 0

  constructor(
    readonly index: number,
    readonly name: string,
    readonly spec: BoardSpec,
    uid: Buffer
  ) {
    super()
    this.device = makeDevice(spec, uid)
    this.port = `sim:${name}`
  }

  set loseAfterBytes(n: number | undefined) {
    this.loseAfter = n
    this.written = 0
  }

  async open(): Promise<Transport> {
    const host = new CountingTransport(this.port, (t, n) => {
      this.written += n
      if (this.loseAfter === undefined || this.written < this.loseAfter || !t.isOpen) return
      this.loseAfter = undefined
      this.emit('fault', 'lose')
      setImmediate(() => t.lose())
    })
    const dev = new MemoryTransport(`${this.port}#device`)
    host.peer = dev
    dev.peer = host
    host.onClose(() => void dev.close())
    void this.device.attach(dev)
    return host
  }
}
