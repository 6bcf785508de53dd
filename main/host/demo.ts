import type { PortInfo, ProfileInput, ProfileSecrets, SlotSettings } from '../../preload/contract'
import { DemoWorld, type DemoPlatform } from '../engine/sim/demo-world'

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
}

export const DEMO_PREFIX = 'demo-'

/**
 * Demo mode (first launch, `flashline ui --demo`): the embedded simulated platforms and boards run in
 * this process; `run` makes one profile and one slot per platform, connects them, and has every cloud
 * order an upgrade, so the app's pages fill themselves with real jobs.
 */
export class DemoController {
  private world?: DemoWorld
  private starting?: Promise<DemoWorld>

  /** Starts the simulated platforms (once). */
  start(): Promise<DemoWorld> {
    this.starting ??= DemoWorld.start().then((w) => (this.world = w))
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

  /** Every platform orders one upgrade of its board; the jobs run on the host's own bench. */
  async run(ops: DemoHostOps): Promise<void> {
    const world = await this.prepare(ops)
    // orders first: FogCloud pushes an upgrade when the device posts its version, right after it connects
    for (const p of world.platforms) p.order()
    for (const p of world.platforms) await ops.connect(`${DEMO_PREFIX}${p.platform}`)
  }

  async close(): Promise<void> {
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
