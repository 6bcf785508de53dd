import type { PortInfo, ProfileInput, ProfileSecrets, SlotSettings } from '../../preload/contract'
import { DemoWorld, type DemoOrder, type DemoPlatform, type DemoPlatformName } from '../engine/sim/demo-world'

/** The built-in simulated boards anyone can flash (`sim:<kind>`), listed as ports in demo mode. */
const BUILTIN_SIM_PORTS: PortInfo[] = [
  { path: 'sim:ymodem', manufacturer: 'Flashline simulator', bridge: 'YMODEM bootloader (simulated)', simulated: true },
  { path: 'sim:stm32', manufacturer: 'Flashline simulator', bridge: 'STM32 system bootloader (simulated)', simulated: true },
  { path: 'sim:esp', manufacturer: 'Flashline simulator', bridge: 'ESP32-C3 ROM loader (simulated)', simulated: true },
  { path: 'sim:mcuboot', manufacturer: 'Flashline simulator', bridge: 'MCUboot serial recovery (simulated)', simulated: true }
]

/** What the demo needs from the host: the same operations the renderer has. */
export interface DemoHostOps {
  saveSlot(id: string, label: string, settings: SlotSettings): void
  saveProfile(profile: ProfileInput & { id: string }, secrets: ProfileSecrets): void
  /** Connects the profile, reconnecting it when it is connected already (a device announces its version when it connects). */
  connect(profileId: string): Promise<void>
  /** A line for the app's log (source "demo"): each cloud's verdict on the task it ordered. */
  log(level: 'info' | 'warn', message: string): void
}

/**
 * Each demo board programs a 1 KiB YMODEM block in this time (about what a 115200-baud link carries),
 * so a person watching sees the flash step and its progress bar for a second or two, not a blink.
 */
const DEMO_BLOCK_MS = 30

/** How long the demo waits for a cloud to close the task it ordered before saying it is still open. */
export const CLOUD_VERDICT_MS = 120_000
const TITLES: Record<DemoPlatformName, string> = { iotda: 'IoTDA', fogcloud: 'FogCloud', wudun: 'Wudun' }

export const DEMO_PREFIX = 'demo-'

/**
 * Demo mode (first launch, `flashline ui --demo`): the embedded simulated platforms and boards run in
 * this process; `run` makes one profile and one slot per platform, connects them, and has every cloud
 * order an upgrade, so the app's pages fill themselves with real jobs.
 */
export class DemoController {
  private world?: DemoWorld
  private starting?: Promise<DemoWorld>
  private closing = false

  /** Starts the simulated platforms (once). */
  start(): Promise<DemoWorld> {
    this.starting ??= DemoWorld.start({ programDelayMs: DEMO_BLOCK_MS }).then((w) => (this.world = w))
    return this.starting
  }

  get started(): boolean {
    return this.world !== undefined
  }

  /** The simulated ports: the built-in kinds and, once started, each platform's board. */
  ports(): PortInfo[] {
    const boards = (this.world?.platforms ?? []).map((p): PortInfo => ({ path: `sim:${p.board}`, manufacturer: 'Flashline demo', bridge: `${p.platform} demo board (simulated YMODEM)`, simulated: true }))
    return [...BUILTIN_SIM_PORTS, ...boards]
  }

  /** Saves (or refreshes: the simulated broker gets a new port every start) the demo's slots and profiles. */
  async prepare(ops: DemoHostOps): Promise<DemoWorld> {
    const world = await this.start()
    for (const p of world.platforms) {
      const id = `${DEMO_PREFIX}${p.platform}`
      ops.saveSlot(id, `Demo ${p.platform} board`, { port: `sim:${p.board}`, protocol: 'ymodem', probe: { timeoutSeconds: 5 } })
      const { profile, secrets } = profileOf(p, id, world.ca)
      ops.saveProfile(profile, secrets)
    }
    return world
  }

  /**
   * Every platform orders one upgrade of its board; the jobs run on the host's own bench. What the
   * clouds make of them (the task closed as succeeded or failed) is only known to the clouds: it is
   * told in the log when each task closes.
   */
  async run(ops: DemoHostOps): Promise<void> {
    const world = await this.prepare(ops)
    // orders first: FogCloud pushes an upgrade when the device posts its version, right after it connects
    for (const p of world.platforms) void this.tellVerdict(p.platform, p.order(), ops)
    for (const p of world.platforms) await ops.connect(`${DEMO_PREFIX}${p.platform}`)
  }

  private async tellVerdict(platform: DemoPlatformName, order: DemoOrder, ops: DemoHostOps): Promise<void> {
    const closed = await order.closed(CLOUD_VERDICT_MS)
    if (this.closing) return
    const task = `the ${TITLES[platform]} cloud's task ${order.taskId} (firmware ${order.targetVersion})`
    if (closed.status === 'succeeded') ops.log('info', `${task} closed: succeeded${closed.detail ? ` (${closed.detail})` : ''}`)
    else if (closed.status === 'failed') ops.log('warn', `${task} closed: failed${closed.detail ? ` (${closed.detail})` : ''}`)
    else ops.log('warn', `${task} is still ${closed.status} after ${CLOUD_VERDICT_MS / 1000} s`)
  }

  async close(): Promise<void> {
    this.closing = true
    const w = await this.starting?.catch(() => undefined)
    await w?.close()
  }
}

/** Splits a demo connection (secrets inline) into the profile the app keeps and its secrets. */
function profileOf(p: DemoPlatform, id: string, ca: string): { profile: ProfileInput & { id: string }; secrets: ProfileSecrets } {
  const c = p.connection as { broker: string; username?: string; password?: string; iotda?: { deviceId: string; secret: string }; fogcloud?: { productKey: string; deviceName: string; deviceSecret: string; module?: string }; wudun?: { deviceUid: string; topicPrefix?: string } }
  const profile: ProfileInput & { id: string } = {
    id,
    name: `Demo ${p.platform}`,
    platform: p.platform,
    broker: c.broker,
    ca,
    username: c.username,
    devices: [{ id: p.deviceId, slotId: id, currentVersion: p.version() }]
  }
  const secrets: ProfileSecrets = { password: c.password }
  if (c.iotda) {
    profile.iotda = { deviceId: c.iotda.deviceId }
    secrets.secret = c.iotda.secret
  }
  if (c.fogcloud) {
    profile.fogcloud = { productKey: c.fogcloud.productKey, deviceName: c.fogcloud.deviceName, module: c.fogcloud.module }
    secrets.deviceSecret = c.fogcloud.deviceSecret
  }
  if (c.wudun) profile.wudun = { deviceUid: c.wudun.deviceUid, topicPrefix: c.wudun.topicPrefix }
  return { profile, secrets }
}
